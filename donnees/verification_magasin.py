"""Contrôles de `desimper verifier` sur ce qu'un arrêt brutal peut laisser côté magasin.

Journal SQLite « chaud » (``-journal``) ou WAL laissé par un processus tué, intégrité du fichier SQLite
(``PRAGMA integrity_check``, ou ``quick_check`` au-delà d'une taille), opérations sans ligne de journal de
création ou création journalisée sans opération, photos sans opération et fichiers photo provisoires.
Chaque contrôle renvoie des :class:`~donnees.verification.Constat` ; rien n'est modifié.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from donnees.config import SOUS_DOSSIER_PHOTOS
from donnees.format import formater_nombre
from donnees.verification import Constat

_journal = logging.getLogger(__name__)

# Au-delà de cette taille, PRAGMA quick_check (linéaire) remplace integrity_check (qui vérifie aussi les index).
TAILLE_MAX_INTEGRITY_CHECK_OCTETS = 256 * 1024 * 1024
NB_CITES = 5


def _constat(niveau: str, sujet: str, message: str) -> Constat:
    return Constat(niveau, sujet, message)


def verifier_journaux_sqlite(base: Path) -> list:
    """Journal de transaction laissé à côté de la base (à appeler **avant** toute ouverture de la base).

    ``-journal`` non vide : transaction inachevée d'un processus arrêté brutalement, annulée à la prochaine
    ouverture ; ``-wal`` : normal tant que l'application tourne, sinon laissé par un arrêt brutal (les
    écritures non validées qu'il contient sont ignorées à la prochaine ouverture)."""
    constats = []
    journal = base.with_name(base.name + "-journal")
    if journal.is_file() and journal.stat().st_size > 0:
        constats.append(_constat("avertissement", "base SQLite", f"journal de transaction « {journal.name} » "
                                 "laissé par un arrêt brutal : la transaction inachevée est annulée à l'ouverture de "
                                 "la base (rien n'est gardé à moitié). Vérifiez ensuite le nombre d'opérations."))
    wal = base.with_name(base.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        constats.append(_constat("information", "base SQLite", f"journal « {wal.name} » présent "
                                 f"({formater_nombre(wal.stat().st_size / 1024, 0, 'Ko')}) : normal si l'application "
                                 "tourne ; sinon laissé par un arrêt brutal, ses écritures non validées sont ignorées "
                                 "à l'ouverture."))
    return constats


def verifier_integrite_sqlite(base: Path) -> list:
    """``PRAGMA integrity_check`` (``quick_check`` pour une grosse base) : erreur si la base est abîmée."""
    if not base.is_file():
        return []
    pragma = "integrity_check" if base.stat().st_size <= TAILLE_MAX_INTEGRITY_CHECK_OCTETS else "quick_check"
    try:
        conn = sqlite3.connect(f"file:{base}?mode=ro", uri=True, timeout=30)
        try:
            lignes = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        _journal.warning("Vérification : %s impossible sur %s (%s).", pragma, base.name, exc)
        return [_constat("erreur", "base SQLite", f"intégrité invérifiable ({pragma}) : la base « {base.name} » est "
                         "illisible ou corrompue. Restaurez la dernière sauvegarde.")]
    if lignes == ["ok"]:
        return [_constat("ok", "base SQLite", f"intégrité vérifiée ({pragma})")]
    return [_constat("erreur", "base SQLite", f"base « {base.name} » abîmée ({pragma} : "
                     f"{'; '.join(lignes[:NB_CITES])[:300]}). Restaurez la dernière sauvegarde.")]


def verifier_journal_operations(moteur: sa.Engine) -> list:
    """Opérations sans ligne de journal « creation », et créations journalisées dont l'opération manque."""
    from donnees.magasin.tables import table_journal, table_operation

    creations = sa.select(table_journal.c.enregistrement_id).where(
        table_journal.c.table_cible == "operation", table_journal.c.action == "creation")
    with moteur.connect() as conn:
        sans_journal = [int(i) for i in conn.execute(
            sa.select(table_operation.c.id).where(table_operation.c.id.not_in(creations))
            .order_by(table_operation.c.id)).scalars()]
        orphelines = [int(i) for i in conn.execute(
            creations.where(table_journal.c.enregistrement_id.not_in(sa.select(table_operation.c.id)))
            .order_by(table_journal.c.enregistrement_id)).scalars()]
    constats = []
    if sans_journal:
        constats.append(_constat("erreur", "journal", f"{formater_nombre(len(sans_journal))} opération(s) sans ligne "
                                 f"de journal de création (n° {_citer(sans_journal)}) : écriture incomplète. "
                                 "Vérifiez-les, ou restaurez la dernière sauvegarde."))
    if orphelines:
        constats.append(_constat("erreur", "journal", f"{formater_nombre(len(orphelines))} création(s) journalisée(s) "
                                 f"sans opération (n° {_citer(orphelines)}) : écriture incomplète. Restaurez la "
                                 "dernière sauvegarde."))
    if not constats:
        constats.append(_constat("ok", "journal", "chaque opération a sa ligne de journal de création"))
    return constats


def verifier_photos_orphelines(dossier: Path, chemins_stockes) -> list:
    """Fichiers du dossier photos sans ligne dans le magasin, et fichiers provisoires (``.….tmp``)."""
    racine = Path(dossier) / SOUS_DOSSIER_PHOTOS
    if not racine.is_dir() or racine.is_symlink():
        return []
    connus = {str(c) for c in chemins_stockes}
    orphelines, provisoires = [], []
    for fichier in sorted(racine.iterdir()):
        if fichier.name.endswith(".tmp"):
            provisoires.append(fichier.name)
        elif fichier.is_file() and f"{SOUS_DOSSIER_PHOTOS}/{fichier.name}" not in connus:
            orphelines.append(fichier.name)
    constats = []
    if orphelines:
        constats.append(_constat("avertissement", "photos", f"{formater_nombre(len(orphelines))} fichier(s) photo "
                                 f"sans opération (par exemple « {orphelines[0][:80]} ») : laissés par une saisie "
                                 "interrompue ; ils ne sont jamais affichés et peuvent être supprimés de "
                                 f"{racine.name}/."))
    if provisoires:
        constats.append(_constat("avertissement", "photos", f"{formater_nombre(len(provisoires))} fichier(s) photo "
                                 "provisoire(s) (.tmp) laissé(s) par une écriture interrompue : ils peuvent être "
                                 f"supprimés de {racine.name}/."))
    return constats


def _citer(identifiants: list[int]) -> str:
    return ", ".join(str(i) for i in identifiants[:NB_CITES]) + (" …" if len(identifiants) > NB_CITES else "")


def verifier_traces_arret_brutal(dossier: Path, url: str) -> list[Constat]:
    """Cohérence du journal des opérations et photos orphelines (les journaux SQLite et l'intégrité se
    vérifient avant : :func:`verifier_journaux_sqlite`, :func:`verifier_integrite_sqlite`). Rien si les
    tables du magasin manquent."""
    from donnees.magasin.tables import table_photo

    constats = []
    moteur = sa.create_engine(url)
    try:
        if not {"operation", "journal", "photo"} <= set(sa.inspect(moteur).get_table_names()):
            return constats
        constats += verifier_journal_operations(moteur)
        with moteur.connect() as conn:
            chemins = list(conn.execute(sa.select(table_photo.c.chemin)).scalars())
    finally:
        moteur.dispose()
    return constats + verifier_photos_orphelines(dossier, chemins)
