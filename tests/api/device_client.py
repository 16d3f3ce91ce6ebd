"""An engineer's device signed in through the real endpoint (`POST /api/auth/device`)."""

from __future__ import annotations

import uuid


class DeviceClient:
    """An engineer's signed-in device, speaking to the API with its bearer token."""

    def __init__(
        self, client, user, device_id: str | None = None, device_name: str = "test phone"
    ) -> None:
        self.client = client
        self.user = user
        self.device_id = device_id or str(uuid.uuid4())
        response = client.post(
            "/api/auth/device",
            json={
                "username": user.username,
                "password": "pw",
                "device_id": self.device_id,
                "device_name": device_name,
            },
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.token = body["token"]
        self.receipt_prefix = body["device"]["receipt_prefix"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(
            url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )

    def put(self, url, **kw):
        return self.client.put(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(
            url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )
