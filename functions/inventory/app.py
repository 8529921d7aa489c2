"""The inventory tools behind the every-kind example's Lambda target (config/examples/every-kind/tools/
inventory.tools.json): getStock and reserveItem, over a fixed stock table (a demo: a real one reads a database).

How the gateway invokes it (AgentCore Gateway guide, "AWS Lambda function targets → Lambda function input format",
and "Understand how AgentCore Gateway tools are named"): the event is the tool's arguments as one JSON object; the
tool's name arrives in the client context, context.client_context.custom["bedrockAgentCoreToolName"], as
<target name>___<tool name>; the function returns a JSON response the gateway can parse."""

from __future__ import annotations

import hashlib
from typing import Any

# Target names have no underscore (^([0-9a-zA-Z][-]?){1,100}$), so the first "___" ends the target's name.
SEPARATOR = "___"
STOCK = {"SKU-1001": 42, "SKU-1002": 7, "SKU-1003": 0}


def tool_name(context: Any) -> str:
    """The tool's own name, without the target's prefix; "" when the gateway did not say."""
    client_context = getattr(context, "client_context", None)
    custom = getattr(client_context, "custom", None) or {}
    qualified = custom.get("bedrockAgentCoreToolName", "") if isinstance(custom, dict) else ""
    if not isinstance(qualified, str):
        return ""
    return qualified.partition(SEPARATOR)[2] if SEPARATOR in qualified else qualified


def get_stock(arguments: dict[str, Any]) -> dict[str, Any]:
    sku = arguments.get("sku")
    if not isinstance(sku, str) or sku not in STOCK:
        return {"error": "unknown sku: list the product's stock-keeping unit, such as SKU-1001"}
    return {"sku": sku, "available": STOCK[sku]}


def reserve_item(arguments: dict[str, Any]) -> dict[str, Any]:
    sku, quantity, order = arguments.get("sku"), arguments.get("quantity"), arguments.get("orderId")
    if not isinstance(sku, str) or sku not in STOCK:
        return {"error": "unknown sku: list the product's stock-keeping unit, such as SKU-1001"}
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return {"error": "quantity must be a whole number of at least 1"}
    if not isinstance(order, str) or not order:
        return {"error": "orderId must name the order"}
    if quantity > STOCK[sku]:
        return {"error": f"only {STOCK[sku]} in stock", "sku": sku, "available": STOCK[sku]}
    # The same order, product and quantity give the same reservation id: a retried call reserves nothing twice.
    reservation = hashlib.sha256(f"{order}/{sku}/{quantity}".encode()).hexdigest()[:16]
    return {"reservationId": reservation, "sku": sku, "reserved": quantity, "remaining": STOCK[sku] - quantity}


TOOLS = {"getStock": get_stock, "reserveItem": reserve_item}


def handler(event: Any, context: Any) -> dict[str, Any]:
    name = tool_name(context)
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": f"unknown tool {name!r}: this function serves {', '.join(sorted(TOOLS))}"}
    return tool(event if isinstance(event, dict) else {})
