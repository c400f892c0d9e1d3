"""Sign in, sign out and accept an invite, in the browser."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from auction.store.accounts import create_invite
from tests.ui.conftest import NOW, Guard, LiveServer, World, check_accessible, sign_in, snapshot


def test_sign_in_page_is_plain_and_accessible(page: Page) -> None:
    page.goto("/ui/")
    expect(page).to_have_url("/ui/login")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_text("Sandbox", exact=True)).to_be_visible()
    check_accessible(page)
    snapshot(page, "sign-in")


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(
    page: Page, world: World
) -> None:
    answers = []
    for email in (world.dispatcher, "nobody@demo.example"):
        page.goto("/ui/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Nothing was changed")
        expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
        expect(alert).to_be_focused()
        answers.append(alert.inner_text())
    assert answers[0] == answers[1]
    check_accessible(page)


def test_sign_in_returns_to_the_page_asked_for_and_sign_out_ends_the_session(
    page: Page, world: World
) -> None:
    page.goto("/ui/account")
    expect(page).to_have_url("/ui/login?next=/ui/account")
    page.get_by_label("Email").fill(world.dispatcher)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/ui/account")
    expect(page.get_by_role("banner").get_by_text(world.dispatcher)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/ui/account")
    expect(page).to_have_url("/ui/login?next=/ui/account")


def test_the_session_cookie_is_http_only_strict_and_only_for_pages(
    page: Page, world: World
) -> None:
    sign_in(page, world.dispatcher)
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    # The REST API stays bearer-only: the browser's cookie does not authorise it.
    answer = page.request.get("/auth/me")
    assert answer.status == 401


def test_an_invite_is_accepted_in_the_browser(page: Page, server: LiveServer, world: World) -> None:
    with server.store.write() as conn:
        org_id = world.org_ids["quantwatt"]
        token = create_invite(
            conn, "new.trader@demo.example", org_id, "bidder", NOW, timedelta(hours=2)
        )
    # The link carries the token after "#", which the browser never sends: the page's
    # script moves it into the form and out of the address bar.
    page.goto(f"/ui/accept-invite#token={token}")
    expect(page.get_by_text("Your invite link is recognised.")).to_be_visible()
    expect(page.locator("input[name=token]")).to_have_value(token)
    expect(page.locator("input[name=token]")).to_have_attribute("type", "hidden")
    expect(page.get_by_label("Invite token")).to_be_hidden()
    assert "token" not in page.url
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password, again").fill("short")
    page.get_by_role("button", name="Activate my account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 12 characters")
    check_accessible(page)
    page.get_by_label("New password", exact=True).fill("a long enough password")
    page.get_by_label("New password, again").fill("a long enough password")
    page.get_by_role("button", name="Activate my account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text("new.trader@demo.example")).to_be_visible()


def test_an_unknown_page_answers_a_readable_404(page: Page, guard: Guard) -> None:
    guard.allow_status(404)
    page.goto("/ui/no-such-page")
    expect(page.get_by_role("alert")).to_contain_text("there is no page at this address")
    check_accessible(page)
