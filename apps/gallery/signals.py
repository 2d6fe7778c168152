"""Keep the gallery loaded: every ``migrate`` (and test database flush) re-syncs it."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections

logger = logging.getLogger(__name__)


def sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from apps.gallery.models import GalleryTemplate
    from apps.gallery.services import templates_sync

    # Migrating the gallery back to zero leaves no table to fill.
    if GalleryTemplate._meta.db_table not in connections[using].introspection.table_names():
        return
    if using != "default":
        return
    report = templates_sync()
    if kwargs.get("verbosity", 1) >= 2:
        logger.info("Gallery templates synced: %s", report.summary())
