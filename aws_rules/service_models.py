"""botocore's service models and endpoint data, read as the JSON botocore ships (importing botocore itself costs
a tenth of a second of every synth, for facts a few JSON files hold)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_SPEC = importlib.util.find_spec("botocore")
assert _SPEC is not None and _SPEC.submodule_search_locations, "botocore is not installed (requirements.txt)"
DATA = Path(list(_SPEC.submodule_search_locations)[0]) / "data"


@lru_cache(maxsize=None)
def service_model(service: str) -> dict[str, Any]:
    """The newest API version's service-2 model of `service` (e.g. "logs", "cognito-idp")."""
    versions = sorted(p for p in (DATA / service).iterdir() if p.is_dir())
    path = versions[-1] / "service-2.json.gz"
    return dict(json.loads(gzip.decompress(path.read_bytes())))


def operation_names(service: str) -> list[str]:
    return list(service_model(service)["operations"])


def signing_name(service: str) -> str:
    metadata = service_model(service)["metadata"]
    return str(metadata.get("signingName") or metadata["endpointPrefix"])


def input_members(service: str, operation: str) -> tuple[set[str], set[str]]:
    """(members, required members) of an operation's input shape."""
    model = service_model(service)
    shape_name = model["operations"][operation].get("input", {}).get("shape")
    shape = model["shapes"].get(shape_name, {}) if shape_name else {}
    return set(shape.get("members", {})), set(shape.get("required", []))


_FIRST = re.compile(r"(.)([A-Z][a-z]+)")
_SECOND = re.compile(r"([a-z0-9])([A-Z])")
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s$")
_PARTIAL_RENAMES = {"ipv-6": "ipv6", "ipv_6": "ipv6", "s_3_resources": "s3_resources"}


def snake_case(operation: str) -> str:
    """The boto3 method name of an operation (botocore's xform_name, tested against it):
    DescribeUserPoolClient -> describe_user_pool_client, ListClientMetadataURLs -> list_client_metadata_urls."""
    plural = _PLURAL_ACRONYM.search(operation)
    if plural:
        operation = f"{operation[: -len(plural.group())]}_{plural.group().lower()}"
    name = _SECOND.sub(r"\1_\2", _FIRST.sub(r"\1_\2", operation)).lower()
    for old, new in _PARTIAL_RENAMES.items():
        name = name.replace(old, new)
    return name


@lru_cache(maxsize=None)
def regions(partition: str) -> list[str]:
    data = json.loads((DATA / "endpoints.json").read_text())
    return sorted(r for p in data["partitions"] if p["partition"] == partition for r in p["regions"])
