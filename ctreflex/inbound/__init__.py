"""Inbound webhooks, WhatsApp and SMS, from the request to the rows: one journal, one
processor, dispatched by provider. Each module says what it buys, what it measured
(docs/PERFORMANCE.md) and which test guards it.

- lane.py: the signed WhatsApp POST on raw ASGI, and the group-commit journal writer
- journal.py: the raw journal (WebhookEvent), written by the driver on SQLite
- gate.py: one database writer at a time, the journal first (flock across processes)
- processor.py: the one processor per deployment (lease), in id order; media fetches
- child.py: the processor in a child process of the web worker; gc_tuning.py: GC settings
- dispatch.py: events -> rows, by provider (PROVIDERS), a savepoint per event
- fastpath.py: runs of plain WhatsApp texts and statuses, set-based (bodies decoded once by
  whatsapp/plain.py); bulk.py: its INSERTs, by the driver on SQLite
- whatsapp.py, whatsapp_kinds.py, sms.py: each channel's per-event handlers
- rows.py: the rows an inbound message touches, one builder for every path
- lifecycle.py: done / partial / rejected / retry / dead, the same for every channel
"""
