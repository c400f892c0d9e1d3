"""Organisations and invites in the browser (operator): a refused organisation changes
nothing, a created one is listed, and an invite's one-time link signs the new user in."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from auction.eic import check_character
from auction.store.accounts import list_orgs
from tests.ui.conftest import Guard, LiveServer, World, check_accessible, sign_in, snapshot

NEW_ORG = "fjord-flex-trading"
NEW_USER = "ingrid@fjord-flex.example"


def _valid_eic(first15: str) -> str:
    return first15 + check_character(first15)


def _wrong_check(eic: str) -> str:
    """The same EIC with another check character."""
    return eic[:15] + ("A" if eic[15] != "A" else "B")


def test_the_operator_creates_an_organisation_and_invites_a_user_who_signs_in(
    page: Page, world: World, server: LiveServer, guard: Guard
) -> None:
    eic = _valid_eic("11XFJORDFLEX01-")
    with server.store.read() as conn:
        before = len(list_orgs(conn))
    operator = sign_in(page, world.operator, "/ui/operator/organisations")
    expect(operator.get_by_role("heading", name="Organisations", level=1)).to_be_visible()
    table = operator.get_by_role("table", name=f"Organisations ({before})")
    dispatcher = table.get_by_role("row").filter(has_text=world.org_ids["baltic-power-desk"])
    expect(dispatcher.get_by_role("rowheader")).to_have_text("baltic-power-desk")

    # A wrong check character: refused beside the field, nothing created.
    operator.get_by_label("Name").fill(NEW_ORG)
    operator.get_by_label("EIC of its balancing group").fill(_wrong_check(eic))
    operator.get_by_role("button", name="Create the organisation").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed.")
    expect(alert).to_be_focused()
    eic_input = operator.get_by_label("EIC of its balancing group")
    expect(eic_input).to_have_attribute("aria-invalid", "true")
    expect(operator.locator("#org-eic-error")).to_have_text(
        f"the EIC's check character is '{_wrong_check(eic)[15]}', but should be '{eic[15]}'"
    )
    expect(operator.get_by_label("Name")).to_have_value(NEW_ORG)  # the input is kept
    check_accessible(operator)
    operator.goto("/ui/operator/organisations")
    expect(operator.get_by_role("table", name=f"Organisations ({before})")).to_be_visible()
    expect(operator.get_by_role("rowheader", name=NEW_ORG)).to_have_count(0)

    # The right one: created, listed, and chosen in the invite form.
    operator.get_by_label("Name").fill(NEW_ORG)
    operator.get_by_label("EIC of its balancing group").fill(eic)
    operator.get_by_role("button", name="Create the organisation").click()
    expect(operator.get_by_role("status").first).to_contain_text(
        f"The organisation was created. {NEW_ORG} is in the list"
    )
    with server.store.read() as conn:
        [created] = [o for o in list_orgs(conn) if o.name == NEW_ORG]
    assert created.eic == eic
    row = operator.get_by_role("table", name=f"Organisations ({before + 1})").get_by_role(
        "row", name=NEW_ORG
    )
    expect(row).to_contain_text(created.org_id)
    expect(operator.get_by_label("Organisation", exact=True)).to_have_value(created.org_id)

    # The invite: its token and link are shown once, on the page answering the form.
    operator.get_by_label("Email").fill(NEW_USER)
    operator.get_by_label("Role").select_option("bidder")
    operator.get_by_role("button", name="Create the invite").click()
    invited = operator.get_by_role("region", name=f"Invite created for {NEW_USER}")
    expect(invited).to_be_visible()
    expect(invited).to_contain_text(f"may join {NEW_ORG} as bidder")
    link = operator.locator("#invite-link").inner_text()
    token = operator.locator("#invite-token").inner_text()
    assert link == f"{server.url}/ui/accept-invite#token={token}"
    expect(invited).to_contain_text("No mail server is set")
    assert "token=" not in operator.url  # the token never travels in an address bar
    check_accessible(operator)
    snapshot(operator, "organisations")

    operator.goto("/ui/operator/organisations")
    expect(operator.get_by_text(token)).to_have_count(0)  # shown once

    # The invite link works: the new user sets a password and is signed in.
    operator.goto(link)
    expect(operator.locator("input[name=token]")).to_have_value(token)
    assert "token" not in operator.url  # the script dropped it from the address bar
    operator.get_by_label("New password", exact=True).fill("fjords are deep and long")
    operator.get_by_label("New password, again").fill("fjords are deep and long")
    # Signed in, the user lands on the traders' start page, which is another screen's
    # (it may be absent where this screen is built alone): only the frame is asserted.
    guard.allow_status(404)
    operator.get_by_role("button", name="Activate my account").click()
    banner = operator.get_by_role("banner")
    expect(banner.get_by_text(NEW_USER)).to_be_visible()
    expect(banner.get_by_text(NEW_ORG)).to_be_visible()


def test_an_invite_with_a_bad_email_is_refused_beside_the_field(page: Page, world: World) -> None:
    operator = sign_in(page, world.operator, "/ui/operator/organisations")
    operator.get_by_label("Email").fill("not-an-email@nowhere")
    operator.get_by_label("Organisation", exact=True).select_option(label="quantwatt")
    operator.get_by_role("button", name="Create the invite").click()
    expect(operator.get_by_role("alert")).to_contain_text("Nothing was changed.")
    expect(operator.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(operator.locator("#invite-email-error")).to_have_text("email must look like a@b.c")
    expect(operator.get_by_label("Organisation", exact=True)).to_have_value(
        world.org_ids["quantwatt"]
    )
    expect(operator.get_by_role("region", name="Invite created", exact=False)).to_have_count(0)
    check_accessible(operator)
