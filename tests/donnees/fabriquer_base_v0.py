"""Fabrique ``base_v0.sql`` et ``base_v0_postgresql.sql`` : la base de la version précédente (avant Alembic).

À lancer avec le code de la version précédente (celle dont le magasin est le module unique
``donnees/magasin.py``, sans table ``alembic_version``) :

    PYTHONPATH=/chemin/vers/la/version/precedente python tests/donnees/fabriquer_base_v0.py

Écrit, à côté de ce script :
- ``base_v0.sql`` : vidage SQLite (schéma exact et données : opérations avec zones, financements,
  photos, une opération modifiée, une validée, une supprimée, des comptes avec échecs de connexion et
  blocage, le journal, dont les changements d'objectifs) ;
- ``base_v0_postgresql.sql`` : le schéma PostgreSQL + PostGIS que créait ``creer_tables()`` (DDL seul ;
  le test y recopie les données de la base SQLite).
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import box
from sqlalchemy import create_mock_engine

from donnees import magasin as module_magasin
from donnees.comptes import creer_compte
from donnees.magasin import Magasin

ICI = Path(__file__).resolve().parent
_VERS_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def carre(x: float, y: float, cote: float):
    """Carré Lambert-93 rendu en WGS84."""
    return shapely.transform(box(x, y, x + cote, y + cote),
                             lambda c: np.column_stack(_VERS_WGS84.transform(c[:, 0], c[:, 1])))


def remplir(magasin: Magasin) -> None:
    """Écrit un jeu de données varié avec l'API de la version précédente."""
    creer_compte(magasin, "admin@bassin.fr", "Alex Admin", "administrateur", [], "une phrase de passe solide",
                 auteur="installation")
    creer_compte(magasin, "ref@sete.fr", "Camille Référente", "referent", ["34301", "34108"],
                 "une autre phrase solide", auteur="admin@bassin.fr")
    creer_compte(magasin, "financeur@agence.fr", "Dominique Financeur", "financeur", [], None,
                 auteur="admin@bassin.fr")
    magasin.enregistrer_echec_connexion("ref@sete.fr", datetime(2024, 3, 1, 9, 0), 5, timedelta(minutes=15))
    for _ in range(5):
        magasin.enregistrer_echec_connexion("financeur@agence.fr", datetime(2024, 3, 2, 10, 0), 5,
                                            timedelta(minutes=15))
    magasin.enregistrer_connexion("admin@bassin.fr", datetime(2024, 3, 3, 8, 30))

    base = {"code_insee": "34301", "type_site": "cour_ecole", "statut": "realisee", "validation": "a_valider",
            "date_fin_travaux": date(2023, 6, 30), "maitre_ouvrage": "Ville de Sète", "cout_ht_eur": 120_000.0,
            "arbres_plantes": 4, "deconnexion_reseau": True, "volume_stockage_m3": 12.5,
            "parcelles": ["34301000AB0123", "34301000AB0124"], "surface_declaree_m2": 1500.0,
            "description": "Cour débitumée, noue plantée « école ».", "source": "https://example.org/cour"}
    x, y = 750_000.0, 6_255_000.0
    ids = []
    ids.append(magasin.creer_operation({
        **base, "nom": "Cour de l'école Jules-Ferry",
        "zones": [{"geometrie": carre(x, y, 100), "revetement_avant": "enrobe", "revetement_apres": "pelouse"},
                  {"geometrie": carre(x + 100, y, 50), "revetement_avant": "enrobe",
                   "revetement_apres": "paillage"}],
        "financements": [{"financeur": "Agence de l'eau Rhône Méditerranée Corse", "montant_eur": 50_000.0},
                         {"financeur": "Région Occitanie", "montant_eur": 20_000.5}],
        "photos": [{"moment": "avant", "chemin": "photos/op1_avant.png", "legende": "Avant travaux",
                    "ajoutee_le": datetime(2023, 1, 5, 12, 0)},
                   {"moment": "apres", "chemin": "photos/op1_apres.png", "legende": None}],
    }, auteur="ref@sete.fr"))
    ids.append(magasin.creer_operation({
        **base, "code_insee": "34108", "nom": "Parking du stade", "type_site": "parking", "statut": "programmee",
        "date_fin_travaux": None, "cout_ht_eur": None, "parcelles": [], "localisation_approximative": True,
        "zones": [{"geometrie": carre(x + 2000, y + 500, 40), "revetement_avant": "enrobe",
                   "revetement_apres": "paves_enherbes"}],
    }, auteur="admin@bassin.fr"))
    ids.append(magasin.creer_operation({
        **base, "nom": "Place à supprimer", "zones": [{"geometrie": carre(x - 500, y, 30),
                                                        "revetement_avant": "beton",
                                                        "revetement_apres": "pelouse"}],
    }, auteur="ref@sete.fr"))
    version = magasin.modifier_operation(ids[0], 1, {"arbres_plantes": 6, "contact": "st@sete.fr"}, "ref@sete.fr")
    magasin.modifier_operation(ids[0], version, {"validation": "validee"}, "admin@bassin.fr")
    magasin.supprimer_operation(ids[2], 1, "admin@bassin.fr")
    magasin.importer_lot([{**base, "nom": f"Jardin de pluie n° {i}", "arbres_plantes": i,
                           "zones": [{"geometrie": carre(x + 300 * i, y - 800, 20 + i),
                                      "revetement_avant": "enrobe", "revetement_apres": "pelouse"}]}
                          for i in range(1, 4)], auteur="admin@bassin.fr")
    magasin.journaliser("admin@bassin.fr", "modification", "objectifs", {"34301 2030": [None, 5000.0]})
    magasin.journaliser("admin@bassin.fr", "modification", "parametres", {"ruissellement": [0.9, 0.95]})


def ecrire_sqlite(cible: Path) -> None:
    """Base SQLite de la version précédente, vidée en SQL."""
    with tempfile.TemporaryDirectory() as dossier:
        chemin = Path(dossier) / "v0.sqlite"
        magasin = Magasin(f"sqlite:///{chemin.as_posix()}")
        magasin.creer_tables()
        remplir(magasin)
        magasin.fermer()
        connexion = sqlite3.connect(chemin)
        try:
            cible.write_text("\n".join(connexion.iterdump()) + "\n", encoding="utf-8")
        finally:
            connexion.close()


def ecrire_postgresql(cible: Path) -> None:
    """DDL PostgreSQL + PostGIS de ``creer_tables()`` (sans l'extension, installée à part)."""
    instructions: list[str] = []

    def consigner(sql, *_args, **_kwargs):
        instructions.append(str(sql.compile(dialect=moteur.dialect)).strip() + ";")

    moteur = create_mock_engine("postgresql+psycopg://", consigner)
    module_magasin.metadonnees.create_all(moteur, checkfirst=False)
    cible.write_text("\n\n".join(instructions) + "\n", encoding="utf-8")


if __name__ == "__main__":
    ecrire_sqlite(ICI / "base_v0.sql")
    ecrire_postgresql(ICI / "base_v0_postgresql.sql")
    print("base_v0.sql et base_v0_postgresql.sql écrits dans", ICI)
