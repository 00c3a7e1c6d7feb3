"""Parité du contrôle des zones : formulaire, import et façade donnent les mêmes décisions et les mêmes codes.

Chaque cas (zone dans la commune, 30 % et 70 % hors, minuscule, immense, chevauchement dans la saisie ou
avec une opération enregistrée, nœud papillon, point, coordonnées Lambert-93 données pour des degrés) est
envoyé aux trois chemins : la fonction appelée par la page Saisie, un import CSV (WKT) préparé à blanc, et
la création par un référent au travers de la façade des droits.
"""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from donnees.comptes import authentifier, creer_compte
from donnees.config import url_base
from donnees.controles_zones import controler_zones
from donnees.droits import ErreurDroits, MagasinProtege, controler_zones_ecrites
from donnees.geometrie import vers_wgs84
from donnees.import_operations import lire_fichier, preparer_import
from donnees.magasin import Magasin
from donnees.schemas import ErreurDonnees
from donnees.zones import decider

COMMUNE_A = box(700000, 6250000, 702000, 6252000)   # 34301, Lambert-93
COMMUNE_B = box(702000, 6250000, 704000, 6252000)   # 34023
ENREGISTREE = box(701500, 6251500, 701600, 6251600)  # zone de l'opération déjà enregistrée
MOT_DE_PASSE = "une phrase de passe solide"


def carre(x: float, y: float, cote: float = 30.0):
    return box(x, y, x + cote, y + cote)


# Cas → (zones en Lambert-93, sauf « lambert93 » donnée telle quelle comme si c'étaient des degrés),
#        décision attendue, codes de règle attendus.
CAS = {
    "dans_la_commune": ([carre(700500, 6250500)], "accepté", set()),
    "30_pourcent_hors": ([box(699970, 6250500, 700070, 6250600)], "averti", {"en_partie_hors_commune"}),
    "70_pourcent_hors": ([box(699930, 6250500, 700030, 6250600)], "refusé", {"hors_commune"}),
    "minuscule": ([carre(700500, 6250500, 0.5)], "averti", {"surface_minuscule"}),
    "immense": ([box(700100, 6250100, 700500, 6250400)], "averti", {"surface_immense"}),
    "chevauche_la_saisie": ([carre(700500, 6250500), carre(700510, 6250510)], "averti", {"chevauchement_saisie"}),
    "chevauche_une_enregistree": ([carre(701550, 6251550, 100)], "averti", {"chevauchement_enregistree"}),
    "noeud_papillon": ([Polygon([(700500, 6250500), (700530, 6250530), (700530, 6250500), (700500, 6250530)])],
                       "refusé", {"contour_invalide"}),
    "point": ([Point(700500, 6250500)], "refusé", {"pas_une_surface"}),
    "lambert93": ([carre(700500, 6250500)], "refusé", {"hors_degres"}),
}


def en_wgs84(cas: str) -> list:
    zones, _, _ = CAS[cas]
    return list(zones) if cas == "lambert93" else list(vers_wgs84(shapely.GeometryCollection(zones)).geoms)


@pytest.fixture
def territoire(tmp_path, monkeypatch):
    """Dossier de données à deux communes carrées, magasin avec une opération enregistrée, façade d'un référent."""
    communes = gpd.GeoDataFrame({"code_insee": ["34301", "34023"], "nom": ["Sète", "Balaruc-les-Bains"]},
                                geometry=[COMMUNE_A, COMMUNE_B], crs=2154).to_crs(4326)
    communes.to_parquet(tmp_path / "communes.parquet")
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(url_base(tmp_path))
    magasin.creer_tables()
    magasin.creer_operation({"code_insee": "34301", "nom": "Parking de la gare", "type_site": "parking",
                             "statut": "programmee",
                             "zones": [{"geometrie": vers_wgs84(ENREGISTREE), "revetement_avant": "enrobe",
                                        "revetement_apres": "pelouse"}]}, auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Réf", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    facade = MagasinProtege(magasin, authentifier(magasin, "ref@sete.fr", MOT_DE_PASSE))
    yield communes, magasin, facade
    magasin.fermer()


def par_le_formulaire(cas, communes, magasin):
    geometries = en_wgs84(cas)
    zones = gpd.GeoDataFrame(geometry=geometries, crs=4326)
    libelles = [f"Dessin {rang}" for rang in range(1, len(geometries) + 1)]
    commune = communes.set_index("code_insee").geometry["34301"]
    constats = controler_zones(zones, libelles, commune, "Sète", magasin.lire_zones())
    return decider(constats), {c.code for c in constats}


def par_l_import(cas, communes, magasin):
    lignes = [{"operation": "X", "nom": "Cour de l'école", "code_insee": "34301", "type_site": "cour_ecole",
               "statut": "programmee", "revetement_avant": "enrobe", "revetement_apres": "pelouse",
               "wkt": shapely.to_wkt(g, rounding_precision=9)} for g in en_wgs84(cas)]
    tampon = io.StringIO()
    pd.DataFrame(lignes).to_csv(tampon, index=False)
    apercu = preparer_import(lire_fichier(tampon.getvalue().encode(), "lot.csv"), communes=communes,
                             magasin=magasin)
    sur_les_lignes = apercu.erreurs[apercu.erreurs["ligne"].notna()]
    assert sur_les_lignes["regle"].notna().all(), sur_les_lignes["message"].tolist()  # rien d'autre
    niveaux = set(sur_les_lignes["niveau"])
    decision = "refusé" if "erreur" in niveaux else "averti" if niveaux else "accepté"
    assert (decision == "refusé") == (not apercu.operations)
    return decision, set(sur_les_lignes["regle"])


def par_la_facade(cas, magasin, facade):
    zones = [{"geometrie": g, "revetement_avant": "enrobe", "revetement_apres": "pelouse"} for g in en_wgs84(cas)]
    operation = {"code_insee": "34301", "nom": "Cour de l'école", "type_site": "cour_ecole",
                 "statut": "programmee", "zones": zones}
    constats = controler_zones_ecrites("34301", zones, facade.contours_communes, facade.noms_communes,
                                       magasin.lire_zones())
    avant = magasin.compter()
    try:
        facade.creer_operation(operation)
    except ErreurDroits as refus:  # refus de la façade : zone hors de la commune d'un référent
        assert "hors de la commune Sète (34301)" in str(refus)
        decision = "refusé"
    except ErreurDonnees:  # refus du magasin : forme de la géométrie
        decision = "refusé"
    else:
        decision = "averti" if constats else "accepté"
    if decision == "refusé":
        assert magasin.compter() == avant
    return decision, {c.code for c in constats}


@pytest.mark.parametrize("cas", list(CAS))
def test_memes_decisions_et_memes_codes_par_les_trois_chemins(cas, territoire):
    communes, magasin, facade = territoire
    _, decision, codes = CAS[cas]
    attendu = (decision, codes)
    assert par_le_formulaire(cas, communes, magasin) == attendu
    assert par_l_import(cas, communes, magasin) == attendu
    assert par_la_facade(cas, magasin, facade) == attendu


def test_un_seul_format_de_pourcentage(territoire):
    """« 70 % » avec l'espace fine insécable de formater_nombre, sur les trois chemins."""
    communes, magasin, facade = territoire
    zones = en_wgs84("70_pourcent_hors")
    commune = communes.set_index("code_insee").geometry["34301"]
    formulaire = controler_zones(gpd.GeoDataFrame(geometry=zones, crs=4326), ["Dessin 1"], commune, "Sète")
    assert str(formulaire[0]) == ("Dessin 1 : zone à 70\u202f% hors de la commune Sète. Dessinez-la dans la "
                                  "commune, ou choisissez la bonne commune.")
    with pytest.raises(ErreurDroits) as refus:
        facade.creer_operation({"code_insee": "34301", "nom": "Cour", "type_site": "cour_ecole",
                                "statut": "programmee", "zones": [{"geometrie": zones[0], "revetement_avant":
                                                                   "enrobe", "revetement_apres": "pelouse"}]})
    assert str(refus.value).startswith("Zone 1 : 70\u202f% de sa surface est hors de la commune Sète (34301). "
                                       "Un référent ne saisit que dans ses communes")
    lignes = [{"nom": "Cour", "code_insee": "34301", "type_site": "cour_ecole", "statut": "programmee",
               "revetement_avant": "enrobe", "revetement_apres": "pelouse", "wkt": shapely.to_wkt(zones[0])}]
    tampon = io.StringIO()
    pd.DataFrame(lignes).to_csv(tampon, index=False)
    apercu = preparer_import(lire_fichier(tampon.getvalue().encode(), "lot.csv"), communes=communes)
    assert apercu.erreurs["message"].tolist() == [
        "lot.csv, ligne 2, champ « géométrie (WKT) » (colonne « wkt ») : zone à 70\u202f% hors de la commune "
        "34301. Vérifiez le code INSEE, ou le système de coordonnées du fichier."]
