import os

import reflex as rx


def _origins() -> list[str]:
    """CORS (every route, with credentials) and the websocket's Origin check: only the app's
    own origin (CTREFLEX_PUBLIC_URL) and CTREFLEX_ALLOWED_ORIGINS, never "*" (Reflex's default,
    which reflects any Origin with credentials allowed). See ctreflex/api/security.py."""
    import secrets

    from ctreflex.settings import Settings

    # a throwaway key: reading the config must not create the secret key file
    return Settings(secret_key=secrets.token_hex(16)).origins


config = rx.Config(
    app_name="ctreflex",
    # Loopback unless CTREFLEX_HOST says otherwise (`make run` passes --backend-host too).
    backend_host=os.environ.get("CTREFLEX_HOST") or "127.0.0.1",
    cors_allowed_origins=_origins(),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.TailwindV4Plugin(),
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="teal", gray_color="slate", radius="medium"),
        ),
    ],
)
