"""Grand registre pour les bancs : une démonstration copiée, son magasin porté à ``nombre`` opérations.

Les opérations ajoutées sont tirées des opérations de la démonstration (modèles) : même commune, même type de
site, mêmes revêtements et financeurs ; zones déplacées de quelques dizaines de mètres, coûts et aides
multipliés par un même facteur, année, statut et validation tirés selon leur répartition dans la
démonstration. Écriture par paquets (insertions groupées, une transaction par paquet) : ni contrôle ni journal
par opération, une ligne de journal « creation » par opération ajoutée pour garder la forme du registre.

Usage : ``construire_grand_registre(source, cible, nombre=50000, graine=3)`` (SQLite du dossier ``cible``) ;
``url=`` : un magasin PostgreSQL (tables créées au besoin) à la place de la base SQLite copiée.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select, text

from donnees.config import NOM_BASE_SQLITE
from donnees.geometrie import aires_lambert93
from donnees.magasin import Magasin, table_financement, table_journal, table_operation, table_zone

TAILLE_PAQUET = 5000
DEPLACEMENT_MAX_DEG = 0.0006  # ≈ 50 m : la zone reste dans son îlot, à peu près
FACTEUR_COUT = (0.6, 1.6)
AUTEUR = "generateur@bench.desimper.fr"


def _lire_modeles(magasin: Magasin) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Opérations non supprimées de la démonstration, leurs zones et financements (lignes brutes du magasin)."""
    with magasin._lire() as conn:
        operations = pd.read_sql(select(table_operation).where(table_operation.c.supprimee.is_(False)), conn)
        zones = pd.read_sql(select(table_zone), conn)
        financements = pd.read_sql(select(table_financement), conn)
    zones = zones[zones["operation_id"].isin(operations["id"])]
    return operations, zones, financements[financements["operation_id"].isin(operations["id"])]


def _tirer_operations(modeles: pd.DataFrame, nombre: int, premier_id: int, rng) -> pd.DataFrame:
    """``nombre`` lignes d'opération tirées des modèles (ids à partir de ``premier_id``)."""
    choix = rng.integers(len(modeles), size=nombre)
    table = modeles.iloc[choix].reset_index(drop=True)
    table["modele_id"] = table["id"].to_numpy()
    table["id"] = np.arange(premier_id, premier_id + nombre)
    # statut, validation et date de fin tirés ensemble dans une autre opération de la démonstration
    autre = modeles.iloc[rng.integers(len(modeles), size=nombre)].reset_index(drop=True)
    for colonne in ("statut", "validation", "date_fin_travaux", "commentaire_validation"):
        table[colonne] = autre[colonne].to_numpy()
    decalage = rng.integers(-200, 200, size=nombre)
    table["date_fin_travaux"] = [d + timedelta(days=int(j)) if isinstance(d, date) else d
                                 for d, j in zip(pd.to_datetime(table["date_fin_travaux"]).dt.date, decalage)]
    facteur = rng.uniform(*FACTEUR_COUT, size=nombre)
    table["cout_ht_eur"] = np.round(table["cout_ht_eur"].to_numpy(float) * facteur, -2)
    table["facteur"] = facteur
    table["nom"] = [f"{n} (copie {i})" for n, i in zip(table["nom"], table["id"])]
    table["jeton_soumission"] = None
    table["version"] = 1
    table["modifie_par"] = None
    table["modifie_le"] = None
    table["cree_par"] = AUTEUR
    return table


def _zones_et_aides(operations: pd.DataFrame, zones: pd.DataFrame, financements: pd.DataFrame,
                    rng) -> tuple[list[dict], list[dict]]:
    """Zones (déplacées, surfaces recalculées en Lambert-93) et financements des opérations tirées."""
    par_modele = zones.groupby("operation_id").indices
    aides_modele = financements.groupby("operation_id").indices
    geometries_modeles = shapely.from_wkb(zones["geometrie"].map(bytes).to_numpy())
    lignes_zones, geometries, lignes_aides = [], [], []
    for operation_id, modele_id, facteur in zip(operations["id"], operations["modele_id"], operations["facteur"]):
        dx, dy = rng.uniform(-DEPLACEMENT_MAX_DEG, DEPLACEMENT_MAX_DEG, size=2)
        for i in par_modele.get(modele_id, []):
            ligne = zones.iloc[i]
            geometries.append(shapely.transform(geometries_modeles[i], lambda xy, d=(dx, dy): xy + d))
            lignes_zones.append({"operation_id": int(operation_id), "revetement_avant": ligne["revetement_avant"],
                                 "revetement_apres": ligne["revetement_apres"]})
        for i in aides_modele.get(modele_id, []):
            montant = float(np.floor(financements["montant_eur"].iloc[i] * facteur / 10) * 10)
            lignes_aides.append({"operation_id": int(operation_id),
                                 "financeur": financements["financeur"].iloc[i], "montant_eur": montant})
    tableau = np.empty(len(geometries), dtype=object)
    tableau[:] = geometries
    for ligne, geometrie, surface in zip(lignes_zones, tableau, aires_lambert93(tableau)):
        ligne["geometrie"], ligne["surface_m2"] = geometrie, float(surface)
    return lignes_zones, lignes_aides


def _lignes_operation(table: pd.DataFrame) -> list[dict]:
    colonnes = [c.name for c in table_operation.columns]
    lignes = table[colonnes].astype(object).where(table[colonnes].notna(), None).to_dict("records")
    for ligne in lignes:
        for cle in ("cree_le", "modifie_le"):
            if isinstance(ligne[cle], pd.Timestamp):
                ligne[cle] = ligne[cle].to_pydatetime()
    return lignes


def _ecrire_paquet(magasin: Magasin, table: pd.DataFrame, zones: list[dict], aides: list[dict]) -> None:
    """Un paquet en une transaction : opérations, zones, financements et une ligne de journal chacune."""
    maintenant = datetime.now().replace(microsecond=0)
    journal = [{"horodatage": maintenant, "auteur": AUTEUR, "action": "creation", "table_cible": "operation",
                "enregistrement_id": int(i), "diff": json.dumps({"generateur": "grand_registre"})}
               for i in table["id"]]
    with magasin._ecrire() as conn:
        conn.execute(table_operation.insert(), _lignes_operation(table))
        conn.execute(table_zone.insert(), zones)
        if aides:
            conn.execute(table_financement.insert(), aides)
        conn.execute(table_journal.insert(), journal)


def _recaler_sequences(magasin: Magasin) -> None:
    """PostgreSQL : séquences des identifiants placées après les ids écrits explicitement."""
    if not magasin.est_postgresql:
        return
    with magasin._ecrire() as conn:
        for table in (table_operation.name, table_zone.name, table_financement.name, table_journal.name):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))


def construire_grand_registre(source: Path, cible: Path, nombre: int = 50_000, graine: int = 3,
                              url: str | None = None) -> dict:
    """Copie le dossier de démonstration ``source`` dans ``cible`` et porte son magasin à ``nombre``
    opérations non supprimées ; renvoie ``{"operations", "zones", "financements", "duree_s"}``.

    ``url`` : magasin PostgreSQL à remplir (ses tables sont créées ; les opérations de la démonstration y sont
    d'abord recopiées) au lieu de la base SQLite copiée. Les caches de modèles du dossier source ne sont pas
    copiés (ils dépendent des opérations).
    """
    debut = time.perf_counter()
    source, cible = Path(source), Path(cible)
    shutil.copytree(source, cible, ignore=shutil.ignore_patterns("cache*", "*-wal", "*-shm"), dirs_exist_ok=True)
    rng = np.random.default_rng(graine)
    demo = Magasin(f"sqlite:///{(cible / NOM_BASE_SQLITE).as_posix()}")
    demo.mettre_a_niveau()
    operations, zones, financements = _lire_modeles(demo)
    magasin = demo if url is None else Magasin(url)
    try:
        if url is not None:
            magasin.mettre_a_niveau()
            _recopier(magasin, operations, zones, financements)
        with magasin._lire() as conn:
            existantes = int(conn.execute(select(func.count()).select_from(table_operation)
                                          .where(table_operation.c.supprimee.is_(False))).scalar_one())
            dernier = int(conn.execute(select(func.max(table_operation.c.id))).scalar_one() or 0)
        a_faire = max(0, int(nombre) - existantes)
        for debut_paquet in range(0, a_faire, TAILLE_PAQUET):
            taille = min(TAILLE_PAQUET, a_faire - debut_paquet)
            table = _tirer_operations(operations, taille, dernier + 1 + debut_paquet, rng)
            zones_paquet, aides_paquet = _zones_et_aides(table, zones, financements, rng)
            _ecrire_paquet(magasin, table, zones_paquet, aides_paquet)
        _recaler_sequences(magasin)
        comptes = magasin.compter()
    finally:
        if magasin is not demo:
            magasin.fermer()
        demo.fermer()
    return {"operations": comptes["operation"], "zones": comptes["zone"], "financements": comptes["financement"],
            "duree_s": round(time.perf_counter() - debut, 1)}


def _recopier(magasin: Magasin, operations: pd.DataFrame, zones: pd.DataFrame, financements: pd.DataFrame) -> None:
    """Opérations de la démonstration recopiées telles quelles dans un magasin vide (PostgreSQL)."""
    with magasin._lire() as conn:
        if conn.execute(select(func.count()).select_from(table_operation)).scalar_one():
            return
    zones = zones.assign(geometrie=zones["geometrie"].map(bytes))
    with magasin._ecrire() as conn:
        conn.execute(table_operation.insert(), _lignes_operation(operations))
        conn.execute(table_zone.insert(), zones.to_dict("records"))
        conn.execute(table_financement.insert(), financements.to_dict("records"))
    _recaler_sequences(magasin)


if __name__ == "__main__":
    import argparse

    lecteur = argparse.ArgumentParser(description="Grand registre pour les bancs (démonstration copiée).")
    lecteur.add_argument("source", type=Path)
    lecteur.add_argument("cible", type=Path)
    lecteur.add_argument("--nombre", type=int, default=50_000)
    lecteur.add_argument("--graine", type=int, default=3)
    lecteur.add_argument("--url")
    arguments = lecteur.parse_args()
    print(construire_grand_registre(arguments.source, arguments.cible, arguments.nombre, arguments.graine,
                                    arguments.url))
