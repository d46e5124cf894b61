"""Headers and request bodies the fake's tests share."""

import base64

from discord_sandbox import APPLICATION_ID, BOT_TOKEN, CLIENT_SECRET

BOT = {"Authorization": f"Bot {BOT_TOKEN}"}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{APPLICATION_ID}:{CLIENT_SECRET}".encode()).decode()}


def form_error(path: tuple, code: str, message: str) -> dict:
    """Discord's 50035 body for one error at ``path`` (keys and indexes), as the fake must answer it."""
    node: dict = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        node = {str(key): node}
    return {"message": "Invalid Form Body", "code": 50035, "errors": node}
