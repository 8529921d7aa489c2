"""botocore's service models and endpoint data, read as the JSON botocore ships (importing botocore itself costs
a tenth of a second of every synth, for facts a few JSON files hold)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

_SPEC = importlib.util.find_spec("botocore")
assert _SPEC is not None and _SPEC.submodule_search_locations, "botocore is not installed (requirements.txt)"
DATA = Path(list(_SPEC.submodule_search_locations)[0]) / "data"


# What the rules read of a service model (operations, their input members, the signing name), kept per botocore
# model file: parsing a whole model (cognito-idp's is half a megabyte) on every synth cost more than the rules.
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "aws_rules"


def _model_path(service: str) -> Path:
    versions = sorted(p for p in (DATA / service).iterdir() if p.is_dir())
    return versions[-1] / "service-2.json.gz"


def _summary(model: dict[str, Any]) -> dict[str, Any]:
    shapes = model["shapes"]

    def members(operation: dict[str, Any]) -> dict[str, list[str]]:
        shape = shapes.get(operation.get("input", {}).get("shape", ""), {})
        return {"members": sorted(shape.get("members", {})), "required": sorted(shape.get("required", []))}

    metadata = model["metadata"]
    return {
        "signingName": str(metadata.get("signingName") or metadata["endpointPrefix"]),
        "operations": {name: members(operation) for name, operation in model["operations"].items()},
    }


def _derived(service: str, label: str, derive: Callable[[dict[str, Any]], Any]) -> Any:
    """`derive` of `service`'s newest model, cached on disk beside the model's size and time (parsing a gzipped model
    costs a synth tens of milliseconds)."""
    path = _model_path(service)
    stat = path.stat()
    cached = CACHE / f"{service}{label}-{stat.st_size}-{int(stat.st_mtime)}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    value = derive(dict(json.loads(gzip.decompress(path.read_bytes()))))
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = cached.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(json.dumps(value))
        staging.replace(cached)  # atomic: a concurrent synth reads a whole file or none
    except OSError:
        pass  # a read-only checkout: parse the model every time
    return value


@lru_cache(maxsize=None)
def service_summary(service: str) -> dict[str, Any]:
    """Operations (with their input members) and signing name of the newest API version of `service`."""
    return dict(_derived(service, "", _summary))


def operation_names(service: str) -> list[str]:
    return list(service_summary(service)["operations"])


def signing_name(service: str) -> str:
    return str(service_summary(service)["signingName"])


def input_members(service: str, operation: str) -> tuple[set[str], set[str]]:
    """(members, required members) of an operation's input shape."""
    found = service_summary(service)["operations"][operation]
    return set(found["members"]), set(found["required"])


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


@lru_cache(maxsize=None)
def shape_enum(service: str, shape: str) -> list[str]:
    """The values of an enum shape of `service`'s newest model (e.g. lambda Runtime), cached as service_summary is."""
    return list(_derived(service, f"-enum-{shape}", lambda model: sorted(model["shapes"][shape]["enum"])))
