"""The known entity kinds and a realistic, deterministic demo data set.

The shape follows the framework's infrastructure screens (partner > cloud > region >
availability zone > datacenter > compute / network device, plus environments), with
``<parentkind>Id`` foreign keys so Stellar ``include`` can nest them. The same seed
always gives the same rows, so demos, screenshots and tests agree.
"""

from __future__ import annotations

import random
from typing import Any

from busconsole.server.db import EntityStore
from busconsole.server.stellar import Row

KINDS = (
    "partner",
    "environment",
    "environmentassociation",
    "cloud",
    "region",
    "availabilityzone",
    "datacenter",
    "compute",
    "networkdevice",
)

COMPUTE_STATUSES = ("ACTIVE", "INACTIVE", "MAINTENANCE")
CREATED = "2025-09-18T19:10:33"

_PARTNERS = (
    ("telcobright", "Telcobright", "SELF", "Bangladesh"),
    ("acme", "ACME Corporation", "CUSTOMER", "USA"),
    ("techsolutions", "Tech Solutions Ltd", "CUSTOMER", "UK"),
    ("globalsystems", "Global Systems", "CUSTOMER", "Germany"),
    ("clouddynamics", "Cloud Dynamics", "VENDOR", "Singapore"),
)
_PROVIDERS = (
    ("aws", ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")),
    ("azure", ("eastus", "westeurope", "uksouth", "southeastasia")),
    ("gcp", ("us-central1", "europe-west1", "asia-east1", "us-east1")),
)
_OS = ("Ubuntu 22.04", "Debian 12", "Rocky Linux 9", "Ubuntu 24.04")
_VENDORS = (("ROUTER", "MikroTik"), ("SWITCH", "Cisco"), ("FIREWALL", "Fortinet"))


def _stamped(row: Row) -> Row:
    return {**row, "createdAt": CREATED, "updatedAt": CREATED}


def demo_rows(seed: int = 7) -> dict[str, list[Row]]:
    """The demo data set, by kind."""
    rng = random.Random(seed)
    out: dict[str, list[Row]] = {k: [] for k in KINDS}

    def add(kind: str, **fields: Any) -> Row:
        row = _stamped({"id": len(out[kind]) + 1, **fields})
        out[kind].append(row)
        return row

    for name, display, ptype, country in _PARTNERS:
        partner = add("partner", name=name, displayName=display, type=ptype, country=country,
                      status="ACTIVE", contactEmail=f"ops@{name}.example")
        for env_type in ("PRODUCTION", "STAGING", "DEVELOPMENT"):
            add("environment", name=f"{name}-{env_type.lower()}", partnerId=partner["id"],
                type=env_type, status="ACTIVE")
        for provider, regions in rng.sample(_PROVIDERS, 2 if name != "telcobright" else 3):
            home = rng.choice(regions)
            cloud = add("cloud", name=f"{provider}-{name}", partnerId=partner["id"],
                        deploymentRegion=home, description=f"{provider.upper()} cloud for {display}",
                        status="ACTIVE")
            for rname in rng.sample(regions, 2):
                region = add("region", name=rname, code=rname.upper(), cloudId=cloud["id"],
                             geographicArea=country, status="ACTIVE")
                for zone in ("a", "b"):
                    az = add("availabilityzone", name=f"{rname}{zone}", code=f"{rname}-{zone}",
                             regionId=region["id"], isDefault=zone == "a", status="ACTIVE")
                    _datacenter(add, rng, az, cloud, partner)
    for env in out["environment"]:
        for compute in rng.sample(out["compute"], 3):
            add("environmentassociation", environmentId=env["id"], resourceType="COMPUTE",
                resourceId=compute["id"])
    return out


def _datacenter(add: Any, rng: random.Random, az: Row, cloud: Row, partner: Row) -> None:
    dc = add("datacenter", name=f"dc-{az['code']}", availabilityZoneId=az["id"],
             cloudId=cloud["id"], partnerId=partner["id"], type=rng.choice(("PRIMARY", "DR", "EDGE")),
             tier=rng.randint(2, 4), status="ACTIVE")
    for n in range(rng.randint(3, 5)):
        add("compute", name=f"{dc['name']}-node{n + 1}", hostname=f"node{n + 1}.{dc['name']}.local",
            ipAddress=f"10.{dc['id'] % 250}.{n}.{rng.randint(2, 250)}", datacenterId=dc["id"],
            status=rng.choices(COMPUTE_STATUSES, weights=(8, 1, 1))[0],
            cpuCores=rng.choice((4, 8, 16, 32, 64)), memoryGb=rng.choice((16, 32, 64, 128, 256)),
            diskGb=rng.choice((250, 500, 1000, 2000)), osType=rng.choice(_OS),
            nodeType=rng.choice(("dedicated", "vm", "container-host")))
    for dtype, vendor in rng.sample(_VENDORS, 2):
        add("networkdevice", name=f"{dc['name']}-{dtype.lower()}", datacenterId=dc["id"],
            deviceType=dtype, vendor=vendor, managementIp=f"172.16.{dc['id'] % 250}.{rng.randint(2, 250)}",
            status="ACTIVE")


def seed_demo(store: EntityStore) -> bool:
    """Load the demo set into an empty store; a store that already has rows is left alone."""
    if store.count():
        return False
    for kind, rows in demo_rows().items():
        store.insert_many(kind, rows)
    return True
