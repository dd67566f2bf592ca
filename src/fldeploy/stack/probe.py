"""What a container of the stack sees: inside a running front end (its network, its extra_hosts; `docker compose
exec`, much cheaper than a throwaway `run` container) host.docker.internal resolves and Foundry's /v1/models
answers."""
from __future__ import annotations

import json

# Runs inside the container with its own python3; prints one JSON line.
SCRIPT = r"""
import json, os, socket, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1].rstrip('/') + '/models'
key = os.environ.get('OPENAI_API_KEY') or os.environ.get('API_KEY')  # the front end's own key (an exposed Foundry)
out = {'url': url, 'resolved': None}
try:
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise ValueError('no host in URL')
    out['resolved'] = socket.gethostbyname(host)
except socket.gaierror as e:
    out.update(outcome='name', detail=str(e)); print(json.dumps(out)); sys.exit()
except ValueError as e:
    out.update(outcome='bad_url', detail=str(e)); print(json.dumps(out)); sys.exit()
try:
    request = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + key} if key else {})
    body = json.load(urllib.request.urlopen(request, timeout=4))
    models = [m.get('id') for m in body.get('data', [])]
    out.update(outcome='ok' if models else 'no_models', models=models)
except urllib.error.HTTPError as e:
    out.update(outcome='http_error', detail=f'HTTP {e.code}')
except (socket.timeout, TimeoutError) as e:
    out.update(outcome='timeout', detail=str(e))
except urllib.error.URLError as e:
    reason = e.reason
    kind = 'refused' if isinstance(reason, ConnectionRefusedError) else 'timeout' if isinstance(reason, (socket.timeout, TimeoutError)) else 'error'
    out.update(outcome=kind, detail=str(reason))
except ValueError as e:
    out.update(outcome='bad_response', detail=str(e))
print(json.dumps(out))
"""


def from_container(compose, service: str, url: str, timeout: float) -> dict:
    from ..adapters import proc

    done = proc.run(compose.argv("exec", "-T", service, "python3", "-c", SCRIPT, url), timeout)
    line = next((l for l in reversed(done.stdout.splitlines()) if l.startswith("{")), None)
    if line:
        return json.loads(line)
    if done.timed_out:
        return {"url": url, "outcome": "probe_timeout", "detail": f"no answer from the probe container in {timeout:.0f}s"}
    return {"url": url, "outcome": "probe_failed", "detail": (done.stderr or done.stdout).strip()[-300:]}
