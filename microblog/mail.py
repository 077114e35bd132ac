"""Build and send email. Sent only from jobs; without MAIL_SERVER it goes to instance/outbox/."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, select_autoescape

from microblog.i18n import get_locale, gettext, template_ngettext
from microblog.settings import ROOT, Settings

log = logging.getLogger(__name__)

_env = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(gettext, template_ngettext, newstyle=True)  # type: ignore[attr-defined]


def render_email(settings: Settings, *, to: str, subject: str, template: str,
                 **context: Any) -> EmailMessage:
    # rendered under the recipient's locale (the caller's locale_context): say which it is
    lang = get_locale()
    context = {"subject": subject, "public_url": settings.public_url, "lang": lang, **context}
    # lines up to RFC 5322's hard limit: a long List-Unsubscribe URL must stay a plain <URL>
    # (folding it at 78 would turn it into an RFC 2047 encoded word mail clients ignore)
    message = EmailMessage(policy=_POLICY)
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="microblog.local")
    message.set_content(_env.get_template(f"{template}.txt").render(**context))
    message.add_alternative(_env.get_template(f"{template}.html").render(**context),
                            subtype="html")
    # after add_alternative, which moves Content-* headers into the first part
    message["Content-Language"] = lang
    return message


# 7bit: non-ASCII bodies go quoted-printable or base64, for relays without 8BITMIME
_POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")
_hostname: str | None = None


async def _local_hostname() -> str:
    """EHLO's name, looked up once: aiosmtplib would otherwise resolve it (a reverse DNS
    lookup, in a thread) for every email."""
    global _hostname
    if _hostname is None:
        _hostname = await asyncio.to_thread(socket.getfqdn)
    return _hostname


async def send_email(settings: Settings, message: EmailMessage) -> None:
    if settings.mail_server:
        # flattened here, with our policy: aiosmtplib would flatten with policy.SMTP, which
        # folds (and so encodes) a long List-Unsubscribe URL
        await aiosmtplib.send(
            message.as_bytes(policy=_POLICY),
            sender=parseaddr(str(message["From"]))[1],
            recipients=[address for _name, address in getaddresses(message.get_all("To", []))],
            hostname=settings.mail_server,
            port=settings.mail_port,
            username=settings.mail_username,
            password=settings.mail_password,
            start_tls=settings.mail_use_tls or None,
            local_hostname=await _local_hostname(),
            timeout=20,
        )
        return
    outbox = settings.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    log.info("MAIL_SERVER unset: wrote %r to %s", message["Subject"], path)
