"""The NATS users and their permissions, and the shipped files that must say the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.nats.auth import (
    ACCOUNTS_INCLUDE,
    ADMIN,
    API,
    PROJECTIONS,
    HwbridgeHost,
    User,
    check_password,
    hwbridge_permissions,
    new_password,
    parse_host,
    password_variable,
    render_accounts,
    users,
)

REPO = Path(__file__).resolve().parents[2]
COMPOSE_HOSTS = [HwbridgeHost("a", (0, 1, 2, 3, 4)), HwbridgeHost("b", (5, 6, 7, 8, 9))]
# JetStream API calls that change or delete streams, consumers' configs or stored messages.
ADMIN_ONLY = re.compile(r"\$JS\.API\.(STREAM\.(CREATE|UPDATE|DELETE|PURGE|MSG\.DELETE)|ACCOUNT)")


def by_name(hosts: list[HwbridgeHost]) -> dict[str, User]:
    return {u.name: u for u in users(hosts)}


def test_the_users() -> None:
    assert list(by_name(COMPOSE_HOSTS)) == [ADMIN, API, PROJECTIONS, "hwbridge-a", "hwbridge-b"]
    assert by_name(COMPOSE_HOSTS)[ADMIN].permissions is None  # everything


def test_a_hwbridge_host_publishes_and_answers_for_its_own_boards_only() -> None:
    p = hwbridge_permissions("lab", [3, 1])
    own = [s for s in p.publish_subjects() if s.startswith(("fpga.", "fpgalog."))]
    assert own == ["fpga.1.*", "fpga.3.*", "fpgalog.1.*", "fpgalog.3.*"]
    assert p.subscribe_subjects() == ["_INBOX.hwbridge-lab.>", "fpgawb.1", "fpgawb.3"]
    assert p.allow_responses
    forbidden = ("fpgakey", "fpgaaudit", "FPGA_KEYS", "FPGA_AUDIT", "FPGA_LOGS.", "$O.fpga-designs")
    assert not [s for s in p.publish_subjects() if any(f in s for f in forbidden)]


def test_projections_publish_no_event_and_nobody_but_admin_changes_streams() -> None:
    named = by_name(COMPOSE_HOSTS)
    reads = named[PROJECTIONS].permissions
    assert reads is not None
    assert all(s.startswith("$JS.") for s in reads.publish_subjects())
    for user in named.values():
        if user.permissions is None:
            continue
        subjects = user.permissions.publish_subjects() + user.permissions.subscribe_subjects()
        assert not [s for s in subjects if ADMIN_ONLY.match(s)], user.name
        assert not [s for s in subjects if s in (">", "$JS.>", "$JS.API.>", "_INBOX.>")]
        # every inbox subscription is the user's own
        inboxes = [s for s in user.permissions.subscribe_subjects() if s.startswith("_INBOX")]
        assert inboxes == [f"_INBOX.{user.name}.>"], user.name


def test_key_events_are_written_by_the_api_only() -> None:
    for user in by_name(COMPOSE_HOSTS).values():
        if user.permissions is None:
            continue
        writes = [s for s in user.permissions.publish_subjects() if s.startswith("fpgakey")]
        assert writes == (["fpgakey.*.*"] if user.name == API else []), user.name


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ([HwbridgeHost("a", (1, 2)), HwbridgeHost("b", (2, 3))], "board 2 is owned by"),
        ([HwbridgeHost("a", (1,)), HwbridgeHost("a", (2,))], "listed twice"),
        ([HwbridgeHost("x-y", (1,)), HwbridgeHost("x_y", (2,))], "listed twice"),
        ([HwbridgeHost("lab.1", (1,))], "use letters, digits"),
        ([HwbridgeHost("", (1,))], "use letters, digits"),
    ],
)
def test_bad_layouts_are_refused(hosts: list[HwbridgeHost], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        users(hosts)


def test_passwords_and_their_variables() -> None:
    assert password_variable("hwbridge-lab-2") == "FPGA_NATS_HWBRIDGE_LAB_2_PASSWORD"
    assert password_variable(API) == "FPGA_NATS_API_PASSWORD"
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        check_password(password)  # what nats-server reads back as the same string
    for bad in ("1234567890123456789", "true", "short1", "with space in it xx", "a-b_c" * 5):
        with pytest.raises(ValueError):
            check_password(bad)


def test_parse_host() -> None:
    assert parse_host("a=0-2,7") == HwbridgeHost("a", (0, 1, 2, 7))
    with pytest.raises(ValueError):
        parse_host("a")


def test_the_rendered_file_names_no_password() -> None:
    text = render_accounts(COMPOSE_HOSTS)
    assert re.findall(r"password: (\S+?)[,}]", text) == [
        f"${password_variable(name)}" for name in by_name(COMPOSE_HOSTS)
    ]


# ------------------------------------------------------------------ the shipped files


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return data


def _compose_hosts(services: dict[str, Any]) -> list[HwbridgeHost]:
    hosts = []
    for service in services.values():
        command = service.get("command", [])
        if command[:2] == ["fpga-cloud", "hwbridge"]:
            user = service["environment"]["FPGA_CLOUD_NATS_USER"]
            boards = command[command.index("--boards") + 1]
            hosts.append(parse_host(f"{user.removeprefix('hwbridge-')}={boards}"))
    return hosts


def test_shipped_accounts_file_is_the_compose_layout_rendered() -> None:
    hosts = _compose_hosts(_compose()["services"])
    assert hosts == COMPOSE_HOSTS
    assert (REPO / ACCOUNTS_INCLUDE).read_text() == render_accounts(hosts)
    assert f'include "{ACCOUNTS_INCLUDE}"' in (REPO / "nats.conf").read_text()


def test_compose_gives_each_process_its_own_credentials_and_nats_every_password() -> None:
    services = _compose()["services"]
    names = list(by_name(_compose_hosts(services)))

    def ref(user: str) -> str:
        return f"${{{password_variable(user)}:?set it in .env}}"

    nats_nodes = [s for s in services.values() if str(s.get("image", "")).startswith("nats:")]
    assert len(nats_nodes) == 3
    for node in nats_nodes:
        assert node["environment"] == {password_variable(n): ref(n) for n in names}
        assert f"./{ACCOUNTS_INCLUDE}:/etc/nats/{ACCOUNTS_INCLUDE}:ro" in node["volumes"]
    apps = {k: s for k, s in services.items() if s.get("command", [""])[0] == "fpga-cloud"}
    assert set(apps) == {"streams", "api", "hwbridge-a", "hwbridge-b"}
    for service in apps.values():
        env = service["environment"]
        user = env["FPGA_CLOUD_NATS_USER"]
        secrets = {k: v for k, v in env.items() if "PASSWORD" in k}
        expected = {"FPGA_CLOUD_NATS_PASSWORD": ref(user)}
        if user == API:
            expected["FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD"] = ref(PROJECTIONS)
        assert secrets == expected, user
    assert apps["streams"]["environment"]["FPGA_CLOUD_NATS_USER"] == ADMIN


def test_the_docs_name_every_user_and_variable() -> None:
    page = (REPO / "docs" / "operations.md").read_text()
    section = page[page.index("### NATS accounts and permissions") :]
    for name in (ADMIN, API, PROJECTIONS, "hwbridge-<host>"):
        assert f"`{name}`" in section, name
    for variable in (
        "FPGA_CLOUD_NATS_USER",
        "FPGA_CLOUD_NATS_PASSWORD",
        "FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD",
        "FPGA_NATS_<USER>_PASSWORD",
        "credentials.json",
        "nats-accounts.conf",
    ):
        assert variable in section, variable
