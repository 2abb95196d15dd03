"""The local environment: nginx and gunicorn instances shaped like an EB instance."""
