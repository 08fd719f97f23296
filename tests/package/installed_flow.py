"""One OAuth flow with what the .deb installed under $TOKEND_DEB_ROOT: its
tokend (no --plugin-dir: it finds the plugins installed beside it), its
tokenctl (with the installed libtokend_client) and its Python client, against
the fake provider of the source tree. Run by scripts/check-deb.sh."""

import glob
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.environ["TOKEND_DEB_ROOT"]
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "usr", "lib", "python3", "dist-packages"))
sys.path.insert(0, os.path.join(SOURCE, "tools", "fake_webex"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))

import tokend_client  # noqa: E402
from harness import http_get, start_fake  # noqa: E402

assert tokend_client.__file__.startswith(ROOT), tokend_client.__file__


def main():
    fake = start_fake()
    work = tempfile.mkdtemp(prefix="tokend-deb-run-", dir="/tmp")
    for name, value in (("client_secret", "fake-webex-client-secret"), ("bot_token", "fake-webex-bot-token")):
        with open(os.path.join(work, name), "w") as f:
            f.write(value + "\n")
    config = os.path.join(work, "tokend.yml")
    with open(config, "w") as f:
        f.write(f"""state_dir: {work}/state
runtime_dir: {work}/run
store:
  plugin: yaml
  options:
    path: {work}/state/users.yml
http:
  listen: 127.0.0.1:0
integration:
  client_id: fake-webex-client-id
  client_secret: {{file: {work}/client_secret}}
  bot_token: {{file: {work}/bot_token}}
  scopes: spark:people_read spark:messages_write
  redirect_url: http://127.0.0.1:9/redirect
  auth_service: {fake.url}/v1/authorize
  token_service: {fake.url}/v1/access_token
  api_base: {fake.url}/v1
""")
    log_path = os.path.join(work, "tokend.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "LISTEN_", "WATCHDOG_"))}
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen([os.path.join(ROOT, "usr", "bin", "tokend"), "-c", config],
                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)
    try:
        port = None
        for _ in range(500):
            text = open(log_path).read()
            if " running (pid" in text:
                port = int(text.split("redirect endpoint listening on http://127.0.0.1:")[1].split("/")[0])
                break
            assert daemon.poll() is None, text
            time.sleep(0.02)
        assert port, open(log_path).read()
        plugins = os.path.join(ROOT, "usr", "lib", "x86_64-linux-gnu", "tokend", "plugins")
        assert f"loaded from {plugins}/tokend_store_yaml.so" in text, text

        socket_path = os.path.join(work, "run", "tokend.sock")
        tokenctl_env = dict(env, TOKEND_SOCKET=socket_path,
                            LD_LIBRARY_PATH=os.path.join(ROOT, "usr", "lib", "x86_64-linux-gnu"))
        auth_url = subprocess.run([os.path.join(ROOT, "usr", "bin", "tokenctl"), "start-flow", "alice"],
                                  env=tokenctl_env, capture_output=True, text=True, check=True).stdout.strip()
        fake.queue_consent([{"user_id": "alice"}])
        parsed = urllib.parse.urlsplit(auth_url)
        status, headers, _ = http_get(parsed.port, parsed.path + "?" + parsed.query)
        assert status == 302, status
        query = urllib.parse.urlsplit(headers["Location"]).query
        status, _, body = http_get(port, "/redirect?" + query)
        assert status == 200 and "Authenticated" in body, (status, body)

        client = tokend_client.TokendClient(socket_path)
        token = client.get_token("alice")
        assert token["access_token"], token
        client.close()
        assert "alice" in open(os.path.join(work, "state", "users.yml")).read()
        daemon.terminate()
        assert daemon.wait(20) == 0, open(log_path).read()
        print("installed_flow: the installed tokend, tokenctl and Python client completed a flow")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        fake.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
