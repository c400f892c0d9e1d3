"""Sign in straight to a page: the sign-in page's ``next`` instead of the role's start page."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Page, expect

from api.cli.demo import PASSWORD


def visit_as(page: Page, email: str, path: str, password: str = PASSWORD) -> Page:
    """Sign in as ``email`` through the sign-in page, which then opens ``path``."""
    page.goto(f"/ui/login?next={quote(path, safe='/')}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page).to_have_url(path)
    return page
