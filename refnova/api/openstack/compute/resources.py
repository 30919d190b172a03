"""The controllers of the resources around create, built for one deployment, by the names
their routes give them (``refnova/api/openstack/wsgi.py`` ROUTES: ``flavors.index``...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from refnova.api.openstack.compute import (
    availability_zone,
    flavors,
    keypairs,
    limits,
    quota_sets,
)
from refnova.api.openstack.compute import images as images_api
from refnova.compute.keypairs import KeypairAPI
from refnova.db import api as db_api
from refnova.image.listing import GlanceImageList, ImageList, WorldImageList
from refnova.quota_usage import QuotaReader


def controllers(
    db: db_api.Database,
    world: Mapping[str, Any],
    rate_limits: Callable[[str], list[dict[str, Any]]],
    glance_url: str | None = None,
) -> dict[str, Any]:
    quotas = QuotaReader(db, world.get("quotas", {}))
    images: ImageList = (
        GlanceImageList(glance_url) if glance_url else WorldImageList(world.get("images", []))
    )
    return {
        "flavors": flavors.Controller(db),
        "limits": limits.Controller(quotas, rate_limits),
        "keypairs": keypairs.Controller(KeypairAPI(db, quotas.get_defaults()["key_pairs"])),
        "availability_zone": availability_zone.Controller(db),
        "images": images_api.Controller(images, glance_url),
        "quota_sets": quota_sets.Controller(quotas),
    }
