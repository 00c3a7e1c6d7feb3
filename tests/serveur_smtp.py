"""Serveur SMTP local des tests (aiosmtpd) : garde les messages reçus, peut refuser les premiers envois (451)."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BoiteSmtp:
    """Gestionnaire aiosmtpd : ``refus`` premiers messages refusés (« 451 »), les suivants gardés."""

    def __init__(self, refus: int = 0):
        self.refus = refus
        self.tentatives = 0
        self.recus: list = []

    async def handle_DATA(self, serveur, session, enveloppe):  # noqa: N802 - nom imposé par aiosmtpd
        self.tentatives += 1
        if self.refus > 0:
            self.refus -= 1
            return "451 4.3.0 Serveur occupé, réessayez plus tard"
        self.recus.append((enveloppe.mail_from, list(enveloppe.rcpt_tos),
                           message_from_bytes(enveloppe.original_content, policy=policy.default)))
        return "250 Message accepté"


class ServeurSmtp:
    """Serveur SMTP sur 127.0.0.1 (port libre), sans chiffrement ni authentification ; ``with`` l'arrête."""

    def __init__(self, refus: int = 0):
        self.boite = BoiteSmtp(refus)
        self.port = _port_libre()
        self._controleur = Controller(self.boite, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "ServeurSmtp":
        self._controleur.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._controleur.stop()

    def environnement(self) -> dict[str, str]:
        """Variables ``DESIMPER_SMTP_*`` qui pointent sur ce serveur."""
        return {"DESIMPER_SMTP_HOTE": "127.0.0.1", "DESIMPER_SMTP_PORT": str(self.port),
                "DESIMPER_SMTP_SECURITE": "aucune", "DESIMPER_SMTP_EXPEDITEUR": "desimper@bassin-thau.fr",
                "DESIMPER_URL_APPLICATION": "https://desimper.exemple.fr"}
