"""The fleet inventory: agencies, their applications, the endpoints those expose.

An inventory is one YAML file::

    version: 1
    scope: {networks: [10.20.0.0/16], domains: [go.id]}
    agencies:
      - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
    applications:
      - id: bdg-simpeg
        name: SIMPEG Kota Bandung
        agency: "32.73"
        endpoints:
          - url: grpcs://simpeg.bandung.go.id:443
            services: [spbe.kepegawaian.v1.KepegawaianService]
            server_name: simpeg.bandung.go.id
            ca_file: bsre-root.pem
          - url: ssh://simpeg.bandung.go.id:22
            pins: ["SHA256:..."]
            credentials: {username: audit, key_path: keys/audit_ed25519}

``load_inventory`` validates it completely before anything may run: the
structure with pydantic (``extra="forbid"``), then what pydantic cannot see
(Kemendagri code against level and province, duplicates, unknown agencies, the
scope guard, referenced files). Every problem is collected and reported with
file, line and field; one ``InventoryError`` carries them all.

The text is read by the one YAML reader (``yaml_nodes``): line numbers come
from the node tree libyaml composes anyway, plain data is built from that tree
directly (much faster than PyYAML's constructor), so a national inventory
(~33k endpoints) loads in a few seconds.

The package, by job: ``yaml_nodes`` (the YAML-with-lines reader every user
file goes through), ``regions`` (provinces, agency codes per level),
``schema`` (field rules and the pydantic models), ``validate``, ``model``
(``Inventory``, ``EndpointRef`` with its ``EndpointMeta``, loading and writing),
``csv`` (spreadsheets in and out), ``synthetic`` (a generated national
inventory), and what applies the inventory's rules to user input:
``targets`` (a URL and options typed on the command line), ``preflight``
(CA and key files must parse), ``known_hosts`` (pins from an OpenSSH file).
This module re-exports what loading and using an inventory takes.
"""

from orchestrator.inventory.model import (
    EndpointRef,
    EndpointSet,
    Inventory,
    dump_inventory,
    inventory_hash,
    load_endpoint_set,
    load_inventory,
)
from orchestrator.inventory.schema import Scope
from orchestrator.inventory.validate import InventoryError

__all__ = [
    "EndpointRef",
    "EndpointSet",
    "Inventory",
    "InventoryError",
    "Scope",
    "dump_inventory",
    "inventory_hash",
    "load_endpoint_set",
    "load_inventory",
]
