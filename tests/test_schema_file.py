"""schema.graphql is exported from the code; regenerate with `make schema` when this fails."""

from __future__ import annotations

from api.schema_export import SCHEMA_FILE, exported_sdl


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == exported_sdl(), "schema.graphql is stale: run `make schema`"


def test_schema_keeps_the_names_clients_code_against() -> None:
    sdl = exported_sdl()
    for signature in [
        "customer(id: ID!): Customer",
        # New arguments are optional and come last: queries written before them still run.
        "customers(filter: CustomerFilter = null, first: Int! = 20, after: String = null, orderBy: "
        "CustomerOrderInput = null): CustomerConnection!",
        "createCustomer(input: CustomerInput!): CustomerPayload!",
        "updateCustomer(id: ID!, input: CustomerUpdateInput!): CustomerPayload!",
        "deleteCustomer(id: ID!): DeletePayload!",
        "recordOrder(input: OrderInput!): OrderPayload!",
        "setOrderStatus(id: ID!, status: OrderStatus!, refundAmount: Decimal = null): OrderPayload!",
        "recordInteraction(input: InteractionInput!): InteractionPayload!",
        "customerClassChanged(customerId: ID = null, classSet: String = null, after: ID = null): ClassChangeEvent!",
    ]:
        assert signature in sdl, signature
