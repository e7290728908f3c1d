import os

import reflex as rx

config = rx.Config(
    app_name="ctreflex",
    # Loopback unless CTREFLEX_HOST says otherwise (`make run` passes --backend-host too).
    backend_host=os.environ.get("CTREFLEX_HOST") or "127.0.0.1",
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
