"""Pannes du système (issue 13, point 4) : disque plein, dossier en lecture seule, base injoignable, photo
impossible à écrire. Chacune donne un message français (façade, pages, CLI), sans trace Python, et n'écrit
rien à moitié (photos comprises) ; l'application se remet quand la panne cesse.

Les pannes sont de vraies erreurs du moteur, provoquées sans droits particuliers (les tests tournent parfois
en root, qui ignore ``chmod``) : ``PRAGMA max_page_count`` fige la taille de la base SQLite (SQLite répond
« database or disk is full »), ``PRAGMA query_only`` la rend non inscriptible (« attempt to write a readonly
database », comme un dossier en lecture seule), une base qui est un dossier ne s'ouvre pas (« unable to open
database file ») ; l'écriture d'une photo lève ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event

from donnees.comptes import Utilisateur
from donnees.droits import MagasinProtege
from donnees.erreurs import PANNES, ErreurDonnees, ErreurPanne, traduire_panne
from donnees.magasin import Magasin
from services.saisie import PhotoDeposee, enregistrer_saisie
from test_magasin import operation_type

REFERENT = Utilisateur("ref@sete.fr", "Référente", "referent", frozenset({"34301"}))
DISQUE_PLEIN = "Disque plein : plus de place pour écrire"
LECTURE_SEULE = "est en lecture seule ou inaccessible"
BASE_INDISPONIBLE = "Base de données indisponible"


def image_png(teinte: int = 60) -> bytes:
    """Petite image PNG lisible (4 × 4 pixels)."""
    from PIL import Image

    tampon = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 160, teinte)).save(tampon, format="PNG")
    return tampon.getvalue()


def figer_taille(magasin: Magasin) -> None:
    """Disque plein simulé : la base SQLite ne peut plus grandir d'une page (SQLite : SQLITE_FULL)."""
    with magasin.moteur.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
    magasin.moteur.dispose()
    event.listen(magasin.moteur, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count={pages}"))


def interdire_ecriture(magasin: Magasin) -> None:
    """Dossier en lecture seule simulé : toute écriture de la base est refusée (SQLite : SQLITE_READONLY)."""
    magasin.moteur.dispose()
    event.listen(magasin.moteur, "connect", lambda c, _r: c.execute("PRAGMA query_only=1"))


def operation_saisie(**modifications) -> dict:
    """Opération telle que l'envoie le formulaire (sans validation ni photos), description longue : son
    écriture demande de nouvelles pages dans la base."""
    operation = {k: v for k, v in operation_type(**modifications).items()
                 if k not in ("validation", "commentaire_validation", "photos")}
    return {**operation, "description": "Cour débitumée. " * 600}


@pytest.fixture
def magasin_sqlite(tmp_path):
    m = Magasin(f"sqlite:///{(tmp_path / 'donnees' / 'desimper.sqlite').as_posix()}")
    m.creer_tables()
    m.creer_utilisateur("ref@sete.fr", "Référente", "referent", ["34301"], None, auteur="test")
    yield m
    m.fermer()


def verifier_integrite(magasin: Magasin) -> None:
    with magasin.moteur.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


# ----------------------------------------------------------------------------------- traduction


@pytest.mark.parametrize("exc, genre", [
    (sqlite3.OperationalError("database or disk is full"), "disque_plein"),
    (sqlite3.OperationalError("unable to open database file"), "lecture_seule"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "lecture_seule"),
    (sqlite3.OperationalError("database is locked"), "base_occupee"),
    (sqlite3.OperationalError("disk I/O error"), "entree_sortie"),
    (OSError(errno.ENOSPC, "No space left on device"), "disque_plein"),
    (OSError(errno.EROFS, "Read-only file system"), "lecture_seule"),
    (PermissionError(errno.EACCES, "Permission denied"), "lecture_seule"),
    (OSError("IOError: No space left on device"), "disque_plein"),  # pyarrow : OSError sans errno
])
def test_pannes_traduites_en_francais(exc, genre):
    panne = traduire_panne(exc, "le dossier de données /d")
    assert isinstance(panne, ErreurPanne) and isinstance(panne, ErreurDonnees) and panne.genre == genre
    assert str(panne) == PANNES[genre].format(lieu="le dossier de données /d", suite="Rien n'a été enregistré. ")
    assert "Error" not in str(panne) and "sqlite" not in str(panne).lower()


@pytest.mark.parametrize("exc", [ValueError("x"), sqlite3.IntegrityError("UNIQUE constraint failed"),
                                 OSError(errno.ENOENT, "No such file"), KeyError("a")])
def test_erreurs_qui_ne_sont_pas_des_pannes_restent_telles_quelles(exc):
    assert traduire_panne(exc) is None


# ----------------------------------------------------------------------------------- magasin


def test_disque_plein_operation_refusee_en_francais_et_base_intacte(magasin_sqlite):
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    avant = magasin_sqlite.compter()
    figer_taille(magasin_sqlite)
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN) as erreur:
        facade.soumettre_operation({**operation_saisie(), "validation": "a_valider"}, str(uuid.uuid4()))
    assert erreur.value.genre == "disque_plein" and "Rien n'a été enregistré" in str(erreur.value)
    assert magasin_sqlite.compter() == avant
    verifier_integrite(magasin_sqlite)


def test_lecture_seule_ecriture_refusee_lecture_possible(magasin_sqlite):
    avant = magasin_sqlite.compter()
    interdire_ecriture(magasin_sqlite)
    with pytest.raises(ErreurPanne, match=LECTURE_SEULE) as erreur:
        magasin_sqlite.creer_operation(operation_type(photos=[]), "ref@sete.fr")
    assert str(Path(magasin_sqlite.moteur.url.database).parent) in str(erreur.value)
    assert magasin_sqlite.compter() == avant  # les lectures marchent toujours


def test_base_qui_ne_s_ouvre_pas_message_francais(tmp_path):
    (tmp_path / "desimper.sqlite").mkdir()  # ni fichier ni droit de le créer : « unable to open database file »
    with pytest.raises(ErreurPanne, match=LECTURE_SEULE):
        Magasin(f"sqlite:///{(tmp_path / 'desimper.sqlite').as_posix()}").creer_tables()


# ------------------------------------------------------------------------- saisie : tout ou rien


def fichiers_photos(dossier: Path) -> list[str]:
    racine = dossier / "photos"
    return sorted(p.name for p in racine.iterdir()) if racine.exists() else []


def test_base_pleine_les_photos_de_la_saisie_sont_retirees(magasin_sqlite, tmp_path):
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    dossier = tmp_path / "donnees"
    avant = magasin_sqlite.compter()
    figer_taille(magasin_sqlite)
    photos = [PhotoDeposee(image_png(10), "avant.png", "avant"), PhotoDeposee(image_png(20), "apres.png", "apres")]
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN):
        enregistrer_saisie(facade, operation_saisie(), photos, [], dossier, jeton_soumission=str(uuid.uuid4()))
    assert fichiers_photos(dossier) == []  # ni photo ni fichier temporaire
    assert magasin_sqlite.compter() == avant


def test_photo_impossible_a_ecrire_rien_en_base(magasin_sqlite, tmp_path, monkeypatch):
    """La seconde photo ne peut être écrite (disque plein) : la première est retirée, la base n'est pas touchée."""
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    dossier = tmp_path / "donnees"
    avant = magasin_sqlite.compter()
    ecrire = Path.write_bytes
    ecrites = []

    def ecrire_puis_plein(self, octets):
        if ecrites:
            ecrire(self, octets[: len(octets) // 2])  # début écrit, puis le disque est plein
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        ecrites.append(self)
        return ecrire(self, octets)

    monkeypatch.setattr(Path, "write_bytes", ecrire_puis_plein)
    photos = [PhotoDeposee(image_png(10), "avant.png", "avant"), PhotoDeposee(image_png(20), "apres.png", "apres")]
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN) as erreur:
        enregistrer_saisie(facade, operation_saisie(), photos, [], dossier, jeton_soumission=str(uuid.uuid4()))
    assert f"le dossier des photos {dossier / 'photos'}" in str(erreur.value)
    assert len(ecrites) == 1 and fichiers_photos(dossier) == []
    assert magasin_sqlite.compter() == avant
