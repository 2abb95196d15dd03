"""The shorten form: its fields and CSRF token (rules are checked by shortener.links)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField


class ShortenForm(FlaskForm):
    url = StringField("Long URL")
    file = FileField("…or a file")
    code = StringField("Custom name (optional)")
