"""With accounts on the server, the page asks for the access token once, then works as usual."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Dialog

from app.backends.scripted import EchoBackend
from memory.accounts import AccountStore
from tests.browser.browser_harness import ChatPage, Servers

pytestmark = pytest.mark.browser


def test_the_page_asks_for_the_token_and_keeps_it(servers: Servers, context: BrowserContext) -> None:
    async def add_user() -> str:
        accounts = await AccountStore.open(servers.data_dir)
        token = await accounts.add("theo")
        await accounts.aclose()
        return token

    token = servers.loop.run(add_user())
    server = servers.start(EchoBackend())
    page = context.new_page()
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept(token)

    page.on("dialog", answer)
    chat = ChatPage(page, server.url).open()
    assert asked and "access token" in asked[0]
    reply = chat.say("My dog is called Biscuit")
    assert "Biscuit" in reply.inner_text()

    page.reload()  # the token is kept in this browser: no second question
    ChatPage(page, server.url).wait_connected()
    assert len(asked) == 1
