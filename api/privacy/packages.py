"""Every package's personal-data registration, imported for its side effect.

Add a line here when a package registers its tables (shows and others are expected: the
privacy test fails until they are).
"""

from __future__ import annotations

from api.agegate import privacy as _agegate  # noqa: F401
from api.analytics import privacy as _analytics  # noqa: F401
from api.auth import privacy as _auth  # noqa: F401
from api.blocks import privacy as _blocks  # noqa: F401
from api.chat import privacy as _chat  # noqa: F401
from api.comments import privacy as _comments  # noqa: F401
from api.consent import privacy as _consent  # noqa: F401
from api.engagement import privacy as _engagement  # noqa: F401
from api.matching import privacy as _matching  # noqa: F401
from api.memberships import privacy as _memberships  # noqa: F401
from api.messages import privacy as _messages  # noqa: F401
from api.mood import privacy as _mood  # noqa: F401
from api.posts import privacy as _posts  # noqa: F401
from api.privacy import store as _privacy  # noqa: F401
from api.privacy.registry import REGISTRY
from api.reports import privacy as _reports  # noqa: F401
from api.services import privacy as _services  # noqa: F401
from api.streams import privacy as _streams  # noqa: F401
from api.subscriptions import privacy as _subscriptions  # noqa: F401
from api.unlockables import privacy as _unlockables  # noqa: F401
from api.users import privacy as _users  # noqa: F401
from api.verification import privacy as _verification  # noqa: F401
from api.wallet import privacy as _wallet  # noqa: F401

__all__ = ["REGISTRY"]
