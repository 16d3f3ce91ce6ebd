"""Extensions, created unbound so that tests can build apps with any config."""

from collections.abc import Iterable

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_compress import Compress
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Select, func, inspect, select
from sqlalchemy.orm import DeclarativeBase

from server.web.api_schemas import ErrorSchema

# Named constraints make migrations portable between SQLite batch mode and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OnsiteApi(Api):
    """flask-smorest's Api, leaving error handling to server.errors (one shape everywhere)."""

    # The OpenAPI description documents the error shape server.errors really sends.
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        return None


def _schema_name(schema) -> str:
    """Name schemas in the OpenAPI description; partial (PATCH) variants get their own name."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema")
    if getattr(schema, "partial", False):
        name += "Patch"
    if getattr(schema, "many", False):
        return None
    return name


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
compress = Compress()
api = OnsiteApi(
    spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)}
)


def count_rows(query: Select) -> int:
    """Count the rows a select returns, without its ORDER BY (a count need not sort them)."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def changed(obj: object, names: Iterable[str]) -> bool:
    """Whether any of the object's named attributes changed in the flush under way.

    Read by the session hooks that keep stored figures (SLA outcomes, first-time fix, finance)
    to tell whether a flushed row touched one of a figure's inputs.
    """
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)
