"""Every domain's tables, imported in one place so that Alembic and the app see one metadata.

Relationships between domains are declared by class name, so all mappers must be imported
before the first query; the app factory and the migration environment import this module.
"""

from server.accounts import models as accounts_models
from server.accounts import security_models
from server.aftercare import models as aftercare_models
from server.customers import models as customers_models
from server.feed import models as feed_models
from server.finance import models as finance_models
from server.register import models as register_models
from server.visits import field_models
from server.visits import models as visits_models

DOMAIN_MODELS = (
    accounts_models,
    security_models,
    customers_models,
    register_models,
    visits_models,
    field_models,
    aftercare_models,
    finance_models,
    feed_models,
)
