"""Monotonie par construction (issue 12) : sur TOUS les couples avant → après de ``revetements.csv`` qui
réduisent l'imperméabilisation (imperméable → non imperméable, ou coefficient de ruissellement plus faible),
T_air ne monte jamais (modèle sur grille et estimation par site) et la rétention d'eau ne baisse jamais
(forme vectorielle et grille), sauf pour les couples déclarés comme compromis dans
``indicateurs/parametres/compromis.csv`` — et chaque compromis déclaré dégrade réellement la chaleur ou l'eau
(une déclaration périmée est refusée).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from indicateurs.chaleur import ModeleChaleur, ParametresChaleur, calculer_capacite_refroidissement
from indicateurs.chaleur_abords import estimer_chaleur_site
from indicateurs.eau import calculer_volume_retenu
from indicateurs.eau_grille import modeliser_eau_revetements
from indicateurs.grille import indexer_revetements
from indicateurs.parametres import (
    lire_compromis,
    lire_parametres,
    lire_parametres_revetements,
    lire_statuts_percolation,
    lire_table_parametres,
    lister_couples_reduction,
    reduire_impermeabilisation,
)
from indicateurs.priorites import FICHIER_PRIORITES

TOLERANCE_C = 1e-9  # °C : bruit d'arrondi des convolutions en double précision
TOLERANCE_M3 = 1e-9
TAILLE = 64  # cellules de 10 m : 640 m de côté
RESOLUTION_M = 10.0
ZONE = (slice(27, 37), slice(27, 37))  # 10 × 10 cellules = 1 ha au centre
PARC = (slice(10, 26), slice(20, 44))  # 16 × 24 cellules = 3,84 ha de pelouse au nord de la zone (effet parc)
GRANDE_ZONE = (slice(24, 40), slice(24, 40))  # 16 × 16 cellules = 2,56 ha : la zone seule peut faire parc
# Contextes de la grille : (zone changée, parc voisin ?)
CONTEXTES = {"sans parc": (ZONE, False), "avec parc": (ZONE, True), "zone de 2,56 ha": (GRANDE_ZONE, False)}

REVETEMENTS = lire_parametres_revetements()
COUPLES = lister_couples_reduction()
PARAMETRES = lire_parametres()
P_CHALEUR = ParametresChaleur.depuis_parametres(PARAMETRES)


def _declares(effet: str) -> set[tuple[str, str]]:
    table = lire_compromis()
    table = table[table["effet"].eq(effet)]
    return set(zip(table["avant"], table["apres"]))


COMPROMIS_CHALEUR = _declares("chaleur")
# Couples où la chaleur doit baisser ou rester : tous, sauf les compromis déclarés (vérifiés à part).
COUPLES_CHALEUR = [c for c in COUPLES if c not in COMPROMIS_CHALEUR]
COMPROMIS_EAU = _declares("eau")


# ------------------------------------------------------------------------------------ couples

def test_couples_couvrent_toute_la_table():
    """Chaque couple de codes distincts est classé ; tout imperméable → non imperméable en fait partie."""
    codes = list(REVETEMENTS.index)
    assert len(codes) == 15
    attendus = {(a, b) for a in codes for b in codes if a != b
                and ((REVETEMENTS.at[a, "impermeable"] and not REVETEMENTS.at[b, "impermeable"])
                     or (REVETEMENTS.at[a, "impermeable"] == REVETEMENTS.at[b, "impermeable"]
                         and REVETEMENTS.at[b, "c_ruissellement"] < REVETEMENTS.at[a, "c_ruissellement"]))}
    assert set(COUPLES) == attendus
    impermeables = REVETEMENTS.index[REVETEMENTS["impermeable"]]
    permeables = REVETEMENTS.index[~REVETEMENTS["impermeable"]]
    assert {(a, b) for a in impermeables for b in permeables} <= set(COUPLES)
    assert not any(reduire_impermeabilisation(b, a) for a in impermeables for b in permeables)


def test_compromis_declares_sont_des_couples_de_reduction():
    """Un compromis ne se déclare que pour un couple qui réduit l'imperméabilisation (sinon il n'y a rien à
    arbitrer)."""
    for avant, apres in COMPROMIS_CHALEUR | COMPROMIS_EAU:
        assert (avant, apres) in COUPLES, f"{avant} → {apres} déclaré en compromis sans réduire l'imperméabilisation"


# ------------------------------------------------------------------------- chaleur par site

def _rafraichissement_site(avant: str, apres: str) -> float:
    """Estimation par site calibrée (°C, positif = plus frais) d'une opération de 1 000 m² (disque)."""
    zones = pd.DataFrame({"code_insee": ["34301"], "surface_m2": [1000.0], "revetement_avant": [avant],
                          "revetement_apres": [apres]})
    return estimer_chaleur_site(zones, PARAMETRES)["rafraichissement_site_c"]


@pytest.mark.parametrize(("avant", "apres"), COUPLES_CHALEUR, ids=[f"{a}->{b}" for a, b in COUPLES_CHALEUR])
def test_estimation_site_ne_rechauffe_pas(avant, apres):
    """Estimation par site : rafraîchissement ≥ 0 (positif = plus frais), sauf compromis déclaré."""
    rafraichissement = _rafraichissement_site(avant, apres)
    assert rafraichissement >= -TOLERANCE_C, f"{avant} → {apres} réchauffe de {-rafraichissement:.4f} °C"


def test_deux_corrections_de_l_issue():
    """« béton → drainant » ne réchauffe plus et « bâti → drainant » rafraîchit."""
    assert _rafraichissement_site("beton", "drainant") > 0
    assert _rafraichissement_site("bati", "drainant") > 0
    assert _rafraichissement_site("enrobe", "drainant") > 0


def test_plage_testee_du_kc_drainant():
    """Le kc du drainant est un choix du projet testé sur 0,05–0,2 : sur toute la plage, le drainant n'est
    jamais moins rafraîchissant qu'un revêtement imperméable (CC = w·(ombre, albédo, kc))."""
    poids = P_CHALEUR.poids_normalises()
    drainant = REVETEMENTS.loc["drainant"]
    for kc in np.linspace(0.05, 0.2, 7):
        cc_drainant = calculer_capacite_refroidissement(drainant["ombre"], drainant["albedo"], kc, poids)
        for code in REVETEMENTS.index[REVETEMENTS["impermeable"]]:
            ligne = REVETEMENTS.loc[code]
            assert cc_drainant >= calculer_capacite_refroidissement(ligne["ombre"], ligne["albedo"], ligne["kc"],
                                                                    poids) - 1e-12, (kc, code)


# ------------------------------------------------------------------------- chaleur sur grille

def _grille(fond: str, avec_parc: bool) -> np.ndarray:
    grille = np.full((TAILLE, TAILLE), indexer_revetements([fond])[0], dtype=np.uint8)
    if avec_parc:
        grille[PARC] = indexer_revetements(["pelouse"])[0]
    return grille


@pytest.fixture(scope="module")
def t_air_par_contexte() -> dict:
    """T_air (°C) du modèle sur grille pour chaque revêtement posé sur la zone, dans trois contextes (tissu
    bâti) : zone de 1 ha sans parc, zone de 1 ha à côté d'un parc de 3,84 ha (effet parc actif), zone de
    2,56 ha seule (elle fait parc quand elle est verte)."""
    modele = ModeleChaleur(np.ones((TAILLE, TAILLE), bool), RESOLUTION_M, P_CHALEUR, workers=1, dtype=np.float64)
    resultats = {}
    for contexte, (zone, avec_parc) in CONTEXTES.items():
        for code in REVETEMENTS.index:
            grille = _grille("bati", avec_parc)
            grille[zone] = indexer_revetements([code])[0]
            resultats[contexte, code] = modele.calculer_revetements(grille).t_air
    return resultats


@pytest.mark.parametrize(("avant", "apres"), COUPLES_CHALEUR, ids=[f"{a}->{b}" for a, b in COUPLES_CHALEUR])
def test_grille_ne_rechauffe_aucune_cellule(avant, apres, t_air_par_contexte):
    """Modèle sur grille (InVEST Urban Cooling) : aucune cellule ne se réchauffe, dans aucun contexte (avec ou
    sans effet parc), sauf compromis déclaré."""
    hausse = _hausse_grille(avant, apres, t_air_par_contexte)
    assert hausse <= TOLERANCE_C, f"{avant} → {apres} réchauffe une cellule de {hausse:.2e} °C"


def _hausse_grille(avant: str, apres: str, t_air_par_contexte: dict) -> float:
    """Plus forte hausse de T_air d'une cellule (°C) dans les contextes de :data:`CONTEXTES`."""
    return max(float(np.nanmax(t_air_par_contexte[contexte, apres] - t_air_par_contexte[contexte, avant]))
               for contexte in CONTEXTES)


def test_compromis_chaleur_rechauffent_vraiment(t_air_par_contexte):
    """Chaque compromis « chaleur » déclaré réchauffe réellement : sur le site (estimation) ou au moins une
    cellule de la grille (effet parc perdu) ; une déclaration périmée est refusée."""
    assert COMPROMIS_CHALEUR
    for avant, apres in sorted(COMPROMIS_CHALEUR):
        site = _rafraichissement_site(avant, apres)
        grille = _hausse_grille(avant, apres, t_air_par_contexte)
        assert site < -TOLERANCE_C or grille > TOLERANCE_C, f"compromis {avant} → {apres} déclaré sans réchauffer"


# ------------------------------------------------------------------------------------ eau

@pytest.mark.parametrize(("avant", "apres"), COUPLES, ids=[f"{a}->{b}" for a, b in COUPLES])
def test_retention_ne_baisse_pas(avant, apres):
    """Forme vectorielle (volume retenu en plus = A·P·(C_avant − C_après)) et grille InVEST (volume retenu
    total) : jamais de baisse, sauf compromis « eau » déclaré, qui en est bien une."""
    pluie = PARAMETRES["pluie_annuelle_mm"]
    zones = pd.DataFrame({"surface_m2": [1000.0], "c_avant": [REVETEMENTS.at[avant, "c_ruissellement"]],
                          "c_apres": [REVETEMENTS.at[apres, "c_ruissellement"]]})
    vecteur = float(calculer_volume_retenu(zones, pluie).iloc[0])
    grilles = [np.full((4, 4), indexer_revetements([code])[0], dtype=np.uint8) for code in (avant, apres)]
    retenus = [float(np.nansum(modeliser_eau_revetements(g, pluie, RESOLUTION_M ** 2).volume_retention))
               for g in grilles]
    if (avant, apres) in COMPROMIS_EAU:
        assert vecteur < 0 and retenus[1] < retenus[0], f"compromis eau {avant} → {apres} sans baisse"
    else:
        assert vecteur >= -TOLERANCE_M3, (avant, apres, vecteur)
        assert retenus[1] >= retenus[0] - 1e-3, (avant, apres, retenus)  # float32 : ~1e-7 relatif


# ------------------------------------------------------------------------------------ sources

def test_moins_de_dix_choix_du_projet_au_total_et_aucune_source_circulaire():
    """Critère de l'issue 12 : sur les cinq fichiers de paramètres (revêtements, modèle, percolation, priorités,
    chaleur par site), moins de 10 lignes « choix du projet » au total, chacune avec son raisonnement et la
    plage testée ; aucune ligne ne cite le cas de référence synthétique (circulaire) ; la page Méthode compte
    les mêmes lignes (``compter_statuts``)."""
    from indicateurs.parametres import FICHIER_CHALEUR_SITE, compter_statuts

    tables = {"revetements.csv": REVETEMENTS, "modele.csv": lire_table_parametres(),
              "percolation.csv": lire_statuts_percolation(),
              "priorites.csv": lire_table_parametres(FICHIER_PRIORITES),
              "chaleur_site.csv": lire_table_parametres(FICHIER_CHALEUR_SITE)}
    choix = []
    for nom, table in tables.items():
        assert table["statut"].isin(["publiée", "choix du projet"]).all(), nom
        assert table["source"].astype("string").fillna("").str.strip().ne("").all(), nom
        raisonnement = table["raisonnement"].astype("string").fillna("")
        textes = (table["source"].astype("string").fillna("") + " " + raisonnement).str.lower()
        circulaires = textes.str.contains(r"cas de référence|shared/reference|invest-cas-ville|reference/", regex=True)
        assert not circulaires.any(), f"{nom} : {list(table.index[circulaires])} cite le cas de référence"
        for code in table.index[table["statut"].eq("choix du projet")]:
            assert raisonnement[code].strip(), f"{nom}/{code} : choix du projet sans raisonnement"
            assert "plage testée" in raisonnement[code].lower(), f"{nom}/{code} : choix du projet sans plage testée"
            choix.append(f"{nom}/{code}")
    assert len(choix) < 10, f"{len(choix)} choix du projet : {choix}"
    comptes = compter_statuts().set_index("fichier")
    assert {f.rsplit("/", 1)[-1] for f in comptes.index} == set(tables)
    assert int(comptes["choix du projet"].sum()) == len(choix)
    assert int(comptes.to_numpy().sum()) == sum(len(t) for t in tables.values())
    # le décompte de docs/parametres.md suit les fichiers
    doc = (Path(__file__).resolve().parents[1] / "docs" / "parametres.md").read_text(encoding="utf-8")
    assert f"| **Total** | **{int(comptes['publiée'].sum())}** | **{len(choix)}** |" in doc


def test_fiche_signale_les_compromis_et_pas_les_gains():
    """La fiche d'une opération montre un compromis déclaré comme tel, et rien pour un gain simple."""
    from vues.methode import decrire_compromis_zones

    zones = pd.DataFrame({"revetement_avant": ["stabilise", "enrobe", "stabilise"],
                          "revetement_apres": ["drainant", "pelouse", "drainant"]})
    messages = decrire_compromis_zones(zones)
    assert len(messages) == 1 and messages[0].startswith("Compromis, pas un gain : Stabilisé")
    assert "T_air peut monter" in messages[0]
    assert decrire_compromis_zones(zones.iloc[[1]]) == []
