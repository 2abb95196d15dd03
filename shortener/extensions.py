"""Extensions, created once here and bound to the app in the factory with init_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# Objects keep their values after a commit: answering with the link just stored (or
# disabled) needs no second round trip to read back what we wrote.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
csrf = CSRFProtect()
# No default limits: only link creation is limited (see RATE_LIMIT_CREATE); redirects never are.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
