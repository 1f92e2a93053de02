"""``pagestream tenant add NAME`` (prints a new API key once) and ``pagestream tenant list``."""

from __future__ import annotations

import argparse
import json
import sys

from pagestream.streams.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    tenant = sub.add_parser("tenant", help="tenants and their API keys (stored hashed in the state dir)")
    action = tenant.add_subparsers(dest="tenant_action", required=True)
    add = action.add_parser("add", help="create a tenant (or another key for it); prints the key once")
    add.add_argument("name", help="letters, digits, '.', '_', '=', '-'; it namespaces the tenant's objects")
    add.add_argument("--json", action="store_true", help="print tenant, key id and key as one JSON object")
    listing = action.add_parser("list", help="tenants and the ids of their keys (never the keys)")
    listing.add_argument("--json", action="store_true", help="print the tenants and their key ids as JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pagestream.connectors.tenants import TenantStore

    store = TenantStore(settings.tenants_file)
    if args.tenant_action == "add":
        caller, key = store.add(args.name)
        if args.json:
            print(json.dumps({"tenant": caller.tenant, "key_id": caller.key_id, "api_key": key}))
        else:
            print(key)
            print(
                f"tenant {caller.tenant}, key id {caller.key_id}: the key above is shown once and stored only "
                f"as a hash; send it as 'Authorization: Bearer <key>' (bridge with PAGESTREAM_AUTH=on)",
                file=sys.stderr,
            )
        return 0
    tenants = store.tenants()
    if args.json:
        print(json.dumps(tenants))
    else:
        for entry in tenants:
            keys = ", ".join(f"{k['key_id']} ({k['created_at']})" for k in entry["keys"])
            print(f"{entry['tenant']}\t{keys}")
    return 0
