"""Entry point for gunicorn and Elastic Beanstalk: builds the app, runs nothing on import."""

from shortener import create_app

application = create_app()
