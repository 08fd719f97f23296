"""The whole path a person takes, in a real browser (issue 11 item 8): Debian's
chromium, headless, driven by chromedriver through python3-selenium. The bot's
re-auth message (as the fake provider recorded it) holds an auth link; the
browser opens it, tokend redirects to the provider, the person clicks "Allow"
on the provider's consent page, the provider sends the browser to tokend's
/redirect, tokend's result page says so, and the bot tells the person.

Skipped, with the reason, only when chromium, chromedriver or selenium is not
installed (scripts/deps.sh installs them, so CI runs it). With
TOKEND_SCREENSHOT_DIR set, the screenshots of tokend's pages are kept there
(docs/images holds the ones the docs show)."""

import os
import shutil
import socket
import tempfile
import time
import unittest

from bot_support import Raw, sign_link
from harness import CLIENT_ID, Tokend, start_fake, wait_for

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM = True
except ImportError:
    SELENIUM = False

MISSING = [name for name, present in (("chromium", CHROMIUM), ("chromedriver (chromium-driver)", CHROMEDRIVER),
                                      ("python3-selenium", SELENIUM)) if not present]
WAIT = 60  # seconds: a loaded 2-core machine starts chromium slowly


def expired_link(base, key, user_id):
    """A link whose time is up, signed as docs/protocol.md says."""
    return f"{base}?{sign_link(key, user_id, int(time.time()) - 60)}"


@unittest.skipIf(MISSING, "not installed: " + ", ".join(MISSING) + " (scripts/deps.sh installs them)")
class Browser(unittest.TestCase):
    def setUp(self):
        self.fake = start_fake()
        self.dir = tempfile.mkdtemp(prefix="tokend-br-", dir="/tmp")
        # The public listener is a socket of ours (as systemd passes it), so the
        # redirect URL can name its port before tokend starts.
        self.http = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.http.bind(("127.0.0.1", 0))
        self.http.listen(64)
        port = self.http.getsockname()[1]
        integration = "\n".join([
            "integration:",
            f"  client_id: {CLIENT_ID}",
            f"  client_secret: {{file: {self.dir}/client_secret}}",
            f"  bot_token: {{file: {self.dir}/bot_token}}",
            "  scopes: spark:people_read spark:messages_write",
            f"  redirect_url: http://127.0.0.1:{port}/redirect",
            f"  auth_service: {self.fake.url}/v1/authorize",
            f"  token_service: {self.fake.url}/v1/access_token",
            f"  api_base: {self.fake.url}/v1",
            "  request_timeout_ms: 5000",
        ]) + "\n"
        self.tokend = Tokend(self.fake, integration=False, workdir=self.dir, extra_config=integration)
        self.tokend.start(activated=[("http", self.http)])
        self.raw = Raw(self.tokend.socket)
        self.driver = None
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=900,700", "--no-first-run", "--disable-extensions",
                         f"--user-data-dir={self.dir}/chromium"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(WAIT)

    def tearDown(self):
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            self.raw.close()
            code = self.tokend.stop()
            log = self.tokend.log()
            self.tokend.close()
            self.http.close()
            self.fake.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.assertEqual(code, 0, log)

    def screenshot(self, name):
        directory = os.environ.get("TOKEND_SCREENSHOT_DIR")
        if directory:
            os.makedirs(directory, exist_ok=True)
            self.assertTrue(self.driver.save_screenshot(os.path.join(directory, name)))

    def wait_for_text(self, text):
        WebDriverWait(self.driver, WAIT).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), text))

    def reauth_message_link(self):
        """alice's grant dies; the bot tells her, with a link: the link, as she reads it in the chat."""
        issued = self.fake.issue_tokens("alice")
        self.raw.ok("set_user_context", user_id="alice", user_context={"user_id": "alice", "tokens": {
            "access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
            "expires_at": "2099-01-01T00:00:00+00:00", "token_type": "Bearer"}})
        self.fake.revoke_user("alice")
        self.assertEqual(self.raw.error("refresh", user_id="alice")["code"], "reauth_required")
        message = wait_for(lambda: [m for m in self.fake.state()["messages"]
                                      if m["toPersonId"] == "alice" and "authorize me again" in m.get("markdown", "")],
                             timeout=20, what="the re-auth message")[0]
        base = f"http://127.0.0.1:{self.tokend.port}/auth?"
        return next(word for word in message["markdown"].split() if word.startswith(base))

    def test_from_the_chat_message_to_the_bots_answer(self):
        link = self.reauth_message_link()
        self.driver.get(link)
        # tokend sent the browser on to the provider: its consent page.
        allow = WebDriverWait(self.driver, WAIT).until(expected_conditions.element_to_be_clickable(
            (By.XPATH, "//button[@name='user_id' and @value='alice']")))
        self.assertTrue(self.driver.current_url.startswith(self.fake.url + "/v1/authorize?"), self.driver.current_url)
        self.assertIn("code_challenge=", self.driver.current_url)
        allow.click()
        # The provider sent the browser to tokend's /redirect: the result page.
        self.wait_for_text("Your authorization is stored")
        self.assertTrue(self.driver.current_url.startswith(f"http://127.0.0.1:{self.tokend.port}/redirect?"))
        self.assertEqual(self.driver.title, "Authenticated")
        self.screenshot("result-page.png")
        # The bot's answer in the chat.
        wait_for(lambda: [m for m in self.fake.state()["messages"]
                            if m["toPersonId"] == "alice" and "You are authenticated" in m.get("markdown", "")],
                   timeout=20, what="the bot's success message")
        self.assertTrue(self.raw.ok("get_token", user_id="alice")["access_token"])
        self.assertEqual(self.raw.ok("stats")["links"]["opened"], 1)

    def test_an_expired_link_says_so(self):
        with open(os.path.join(self.dir, "state", "link.key"), "rb") as f:
            key = f.read().rstrip(b"\n")
        self.driver.get(expired_link(f"http://127.0.0.1:{self.tokend.port}/auth", key, "alice"))
        self.wait_for_text("This authorization link has expired")
        self.assertEqual(self.driver.title, "Link expired")
        self.screenshot("expired-link-page.png")
        self.assertEqual(self.raw.ok("stats")["flows"]["started"], 0)


if __name__ == "__main__":
    unittest.main()
