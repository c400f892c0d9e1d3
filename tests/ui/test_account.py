"""Account Settings → Organisation Details in the browser: the organisation, its id to
copy, its users, and how to get an API token for the same account."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from auction.store.accounts import get_org, org_users
from tests.ui.conftest import DISPATCHER, LiveServer, World, check_accessible, sign_in, snapshot


def test_a_trader_sees_its_organisation_and_copies_its_id(
    page: Page, world: World, server: LiveServer
) -> None:
    org_id = world.org_ids[DISPATCHER]
    with server.store.read() as conn:
        org = get_org(conn, org_id)
        users = org_users(conn, org_id)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(page, world.dispatcher, "/ui/invoices")
    page.get_by_role("link", name="Account Settings").click()
    expect(page.get_by_role("heading", name="Organisation Details", level=1)).to_be_visible()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb).to_have_text("Account Settings → Organisation Details")
    expect(breadcrumb.get_by_role("link", name="Organisation Details")).to_have_attribute(
        "aria-current", "page"
    )
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Account Settings")).to_have_attribute(
        "aria-current", "page"
    )

    facts = page.locator("dl.facts")
    expect(facts.get_by_text(org.name, exact=True)).to_be_visible()
    expect(facts.get_by_text(org_id, exact=True)).to_be_visible()
    expect(facts.get_by_text(org.eic, exact=True)).to_be_visible()
    expect(facts.get_by_text(org.tso_zone, exact=True)).to_be_visible()

    table = page.get_by_role("table", name=f"Users of {org.name} ({len(users)})")
    expect(table.locator("tbody").get_by_role("row")).to_have_count(len(users))
    row = table.get_by_role("row").filter(has_text=world.dispatcher)
    expect(row.get_by_role("cell").nth(0)).to_have_text(f"{world.dispatcher} (you)")
    expect(row.get_by_role("cell").nth(1)).to_have_text("bidder")

    page.get_by_role("button", name="Copy organisation id").click()
    expect(page.get_by_role("status").filter(has_text="Copied.")).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == org_id
    check_accessible(page)
    snapshot(page, "account")


def test_the_api_token_requests_are_filled_in_for_this_user(
    page: Page, world: World, server: LiveServer
) -> None:
    org_id = world.org_ids[DISPATCHER]
    sign_in(page, world.dispatcher, "/ui/account")
    authenticate = page.locator("#curl-authenticate")
    expect(authenticate).to_contain_text(f"curl -s -X POST {server.url}/auth/public/authenticate")
    expect(authenticate).to_contain_text(f'"username": "{world.dispatcher}"')
    expect(page.locator("#curl-me")).to_have_text(
        f'curl -s {server.url}/auth/me -H "Authorization: Bearer $TOKEN"'
    )
    expect(page.locator("#curl-org")).to_contain_text(f"/organisations/{org_id}/invoices")
    expect(page.get_by_role("link", name="REST API reference").first).to_have_attribute(
        "href", "/docs"
    )

    # The requests work as printed: the token request with the password, then /auth/me.
    token = page.request.post(
        "/auth/public/authenticate",
        data={"username": world.dispatcher, "password": world.password},
    ).json()["access_token"]
    me = page.request.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["org_id"] == org_id
    expect(page.get_by_text(f'"org_id": "{org_id}"')).to_be_visible()


def test_an_operator_sees_its_own_organisation(
    page: Page, world: World, server: LiveServer
) -> None:
    sign_in(page, world.operator, "/ui/account")
    operator_org = world.org_ids["operator"]
    expect(page.get_by_role("heading", name="Organisation Details", level=1)).to_be_visible()
    expect(page.locator("#org-id")).to_have_text(operator_org)
    users = page.get_by_role("table", name="Users of operator", exact=False)
    expect(users.get_by_role("row").filter(has_text=world.operator)).to_contain_text("operator")
    check_accessible(page)
