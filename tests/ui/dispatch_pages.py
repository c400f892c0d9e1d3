"""What the dispatch page tests share: signing in straight onto a dispatch page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from api.cli.demo import PASSWORD


def sign_in_to(page: Page, email: str, next_path: str = "/ui/dispatch") -> None:
    """Sign in through the sign-in page, which returns to ``next_path`` (a page of these
    tests, so that they need no other screen)."""
    page.goto(f"/ui/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page).to_have_url(next_path)
