"""Eau sur grille : modèle de rétention des eaux pluviales d'InVEST (Urban Stormwater Retention).

Équations (guide InVEST « Urban Stormwater Retention », source natcap/invest ``stormwater.py``, sans
ajustement des ratios par les routes) :

- ratio de ruissellement = RC (coefficient annuel, ``c_ruissellement`` de ``revetements.csv``) ;
- ratio de rétention = 1 − RC ;
- ratio de percolation = PE (``indicateurs/parametres/percolation.csv``, par revêtement) ;
- volume (m³/an) = 0,001 × P (mm/an) × ratio × surface de la cellule (m²).

Sur le territoire du projet : P = ``pluie_annuelle_mm`` uniforme et un seul groupe de sol (les ratios du
projet ne dépendent pas du groupe). Les sommes par commune se font par ``np.bincount`` sur les couples
(commune, revêtement), sans construire les grilles de volumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.validation import lire_csv_valide, nombre_entre, texte_non_vide
from indicateurs.grille import (
    SCENARIOS,
    OccupationGrille,
    construire_scenarios,
    lister_codes_revetement,
    moyenner_par_etiquette,
    sommer_par_etiquette,
    tabuler_proprietes_revetements,
)
from indicateurs.parametres import Parametres, lire_parametres, lire_parametres_revetements

FICHIER_PERCOLATION = Path(__file__).resolve().parent / "parametres" / "percolation.csv"
MM_EN_M = 0.001  # 1 mm = 0,001 m (InVEST, volume_op)
COLONNES_INVEST = ("mean_retention_ratio", "total_retention_volume", "mean_runoff_ratio", "total_runoff_volume",
                   "mean_percolation_ratio", "total_percolation_volume")


SCHEMA_PERCOLATION = pa.DataFrameSchema({
    "code": pa.Column(str, unique=True),
    "pe": pa.Column(checks=nombre_entre(0, 1)),
    "source": pa.Column(str, texte_non_vide("source")),
})


@lru_cache(maxsize=None)
def lire_percolation(chemin: Path = FICHIER_PERCOLATION) -> pd.Series:
    """Ratio de percolation par revêtement (indexé par code), validé : code connu, 0 ≤ PE ≤ 1 − C, source."""
    nom = chemin.name
    table = lire_csv_valide(chemin, SCHEMA_PERCOLATION, correction=f"Corrigez {nom}.", dtype={"code": str})
    revetements = lire_parametres_revetements()
    manquants = sorted(set(revetements.index) - set(table["code"]))
    if manquants:
        raise ErreurDonnees(f"Fichier {nom} : ratio de percolation manquant pour {', '.join(manquants)}.",
                            nom, "code")
    for index, code in table["code"].items():  # règles croisées avec revetements.csv
        if code not in revetements.index:
            raise ErreurDonnees(f"Fichier {nom}, ligne {index + 2} : revêtement « {code} » inconnu.", nom, "code",
                                [index])
        plafond = 1 - float(revetements.at[code, "c_ruissellement"])
        if not table.at[index, "pe"] <= plafond + 1e-12:
            raise ErreurDonnees(f"Fichier {nom}, ligne {index + 2} ({code}) : pe = « {table.at[index, 'pe']} » "
                                f"hors de [0 ; 1 − C = {formater_nombre(plafond, 2)}] "
                                "(la percolation est une part de la rétention).", nom, "pe", [index])
    return pd.Series(table["pe"].to_numpy(dtype=float), index=table["code"], name="pe")


def tabuler_ratios_eau() -> dict[str, np.ndarray]:
    """Tables indice de revêtement → ratios (ruissellement RC, percolation PE), ``NaN`` à l'indice 0."""
    rc = tabuler_proprietes_revetements(("c_ruissellement",))["c_ruissellement"]
    pe = np.full(len(rc), np.nan)
    pe[1:] = lire_percolation().reindex(lister_codes_revetement()).to_numpy(dtype=float)
    return {"ruissellement": rc, "percolation": pe}


# ------------------------------------------------------------------------------------ formules


def calculer_ratio_retention(ratio_ruissellement):
    """Ratio de rétention = 1 − RC (sans unité ; InVEST)."""
    return 1 - np.asarray(ratio_ruissellement)


def calculer_volume_eau(ratio, pluie_mm_an, surface_m2):
    """Volume (m³/an) = 0,001 × P (mm/an) × ratio × surface (m²) (InVEST, ``volume_op``)."""
    return MM_EN_M * np.asarray(pluie_mm_an) * np.asarray(ratio) * surface_m2


@dataclass
class ResultatEau:
    """Grilles (``float32``, ``NaN`` hors territoire) : ratios et volumes (m³/an) par cellule."""

    ratio_retention: np.ndarray
    volume_retention: np.ndarray
    ratio_ruissellement: np.ndarray
    volume_ruissellement: np.ndarray
    ratio_percolation: np.ndarray | None
    volume_percolation: np.ndarray | None


def modeliser_eau(ratio_ruissellement: np.ndarray, ratio_percolation: np.ndarray | None, pluie_mm_an,
                  surface_cellule_m2: float, valide: np.ndarray | None = None) -> ResultatEau:
    """Modèle de rétention par cellule (InVEST). ``ratio_percolation`` facultatif (comme ``pe_*``)."""
    rc = np.asarray(ratio_ruissellement, dtype=np.float32)
    garde = ~np.isnan(rc) if valide is None else np.asarray(valide, bool) & ~np.isnan(rc)
    pluie = np.asarray(pluie_mm_an, dtype=np.float32)
    if pluie.ndim:
        garde &= ~np.isnan(pluie)

    def masquer(valeurs):
        sortie = np.asarray(valeurs, dtype=np.float32).copy() if np.ndim(valeurs) else np.full(rc.shape, valeurs,
                                                                                               np.float32)
        sortie[~garde] = np.nan
        return sortie

    retention = masquer(calculer_ratio_retention(rc))
    ruissellement = masquer(calculer_ratio_retention(retention))  # InVEST : runoff = 1 − retention
    percolation = None if ratio_percolation is None else masquer(ratio_percolation)
    return ResultatEau(
        retention, masquer(calculer_volume_eau(retention, pluie, surface_cellule_m2)),
        ruissellement, masquer(calculer_volume_eau(ruissellement, pluie, surface_cellule_m2)),
        percolation, None if percolation is None else masquer(calculer_volume_eau(percolation, pluie,
                                                                                   surface_cellule_m2)))


def agreger_eau_zones(resultat: ResultatEau, etiquettes: np.ndarray, nombre: int) -> pd.DataFrame:
    """Par étiquette 0..nombre−1 : moyennes des ratios et totaux des volumes, colonnes d'InVEST."""
    table = {}
    for prefixe, ratio, volume in (("retention", resultat.ratio_retention, resultat.volume_retention),
                                   ("runoff", resultat.ratio_ruissellement, resultat.volume_ruissellement),
                                   ("percolation", resultat.ratio_percolation, resultat.volume_percolation)):
        if ratio is None:
            continue
        table[f"mean_{prefixe}_ratio"] = moyenner_par_etiquette(etiquettes, ratio, None, nombre)[0]
        table[f"total_{prefixe}_volume"] = sommer_par_etiquette(etiquettes, volume, None, nombre)
    return pd.DataFrame(table)


# ------------------------------------------------------------------------------------ territoire


def compter_revetements_par_commune(revetement: np.ndarray, commune: np.ndarray, nb_communes: int,
                                    nb_revetements: int) -> np.ndarray:
    """Matrice (commune 0..n) × (revêtement 0..m) du nombre de cellules, par un seul ``np.bincount``."""
    cle = commune.astype(np.int64).ravel() * (nb_revetements + 1) + revetement.astype(np.int64).ravel()
    return np.bincount(cle, minlength=(nb_communes + 1) * (nb_revetements + 1)).reshape(
        nb_communes + 1, nb_revetements + 1)


def calculer_eau_territoire(occupation: OccupationGrille, zones, parametres: Parametres | None = None,
                            scenarios=tuple(SCENARIOS)) -> pd.DataFrame:
    """Table (commune × scénario) : volumes annuels (m³/an) retenus, ruisselés et percolés, ratios moyens,
    et écarts au scénario ``sans_operations``. Toutes les cellules de la commune comptent.

    P = ``pluie_annuelle_mm`` ; RC et PE par revêtement.
    """
    return tabuler_eau_territoire(compter_scenarios_eau(construire_scenarios(occupation, zones, scenarios),
                                                        occupation), occupation, parametres)


def compter_scenarios_eau(revetements: dict[str, np.ndarray], occupation: OccupationGrille
                          ) -> dict[str, np.ndarray]:
    """Matrice (commune 0..n) × (revêtement 0..m) du nombre de cellules de chaque grille de scénario (entiers :
    une mise à jour incrémentale retranche et ajoute des cellules sans erreur d'arrondi)."""
    nb_communes, nb_rev = len(occupation.codes_insee), len(lister_codes_revetement())
    return {nom: compter_revetements_par_commune(grille_rev, occupation.commune, nb_communes, nb_rev)
            for nom, grille_rev in revetements.items()}


def tabuler_eau_territoire(comptes: dict[str, np.ndarray], occupation: OccupationGrille,
                           parametres: Parametres | None = None) -> pd.DataFrame:
    """Table de :func:`calculer_eau_territoire` à partir des comptes de :func:`compter_scenarios_eau`."""
    parametres = parametres or lire_parametres()
    pluie = parametres["pluie_annuelle_mm"]
    ratios = tabuler_ratios_eau()
    rc, pe = np.nan_to_num(ratios["ruissellement"]), np.nan_to_num(ratios["percolation"])
    surface = occupation.grille.surface_cellule_m2
    lignes = []
    for nom, matrice in comptes.items():
        matrice = matrice[1:, 1:]
        cellules = matrice.sum(axis=1)
        somme_rc, somme_pe = matrice @ rc[1:], matrice @ pe[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            lignes.append(pd.DataFrame({
                "code_insee": occupation.codes_insee, "scenario": nom,
                "surface_m2": cellules * surface,
                "volume_retention_m3_an": calculer_volume_eau(cellules - somme_rc, pluie, surface),
                "volume_ruissellement_m3_an": calculer_volume_eau(somme_rc, pluie, surface),
                "volume_percolation_m3_an": calculer_volume_eau(somme_pe, pluie, surface),
                "ratio_retention_moyen": np.where(cellules > 0, 1 - somme_rc / np.maximum(cellules, 1), np.nan),
                "ratio_percolation_moyen": np.where(cellules > 0, somme_pe / np.maximum(cellules, 1), np.nan),
            }))
    table = pd.concat(lignes, ignore_index=True)
    if "sans_operations" in comptes:
        base = table[table["scenario"] == "sans_operations"].set_index("code_insee")
        for colonne in ("volume_retention_m3_an", "volume_ruissellement_m3_an", "volume_percolation_m3_an"):
            table[f"delta_{colonne}"] = table[colonne] - table["code_insee"].map(base[colonne])
    return table


def modeliser_eau_revetements(revetement: np.ndarray, pluie_mm_an: float, surface_cellule_m2: float
                              ) -> ResultatEau:
    """Grilles de volumes du territoire à partir d'une grille d'indices de revêtement (pour la carte)."""
    ratios = tabuler_ratios_eau()
    return modeliser_eau(ratios["ruissellement"][revetement], ratios["percolation"][revetement], pluie_mm_an,
                         surface_cellule_m2)
