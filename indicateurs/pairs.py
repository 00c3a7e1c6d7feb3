"""« Qui l'a fait avant moi ? » (issue 16, partie 4) : les opérations réalisées semblables à un projet.

À partir d'une opération (ou d'un type de site, d'une surface et d'un coût au m² facultatif), on garde les opérations
de **même type de site** dont la surface désimperméabilisée S est dans un rapport d'au plus ``rapport_surface_max``
avec celle du projet S₀, puis on les classe par une distance, moyenne pondérée des écarts normalisés connus :

- surface : |ln(S/S₀)| / ln(rapport_surface_max) (0 : même surface, 1 : à la limite), poids ``poids_surface`` ;
- coût au m² (seulement si les deux sont connus — donc lisibles par le lecteur) : |ln(c/c₀)| / ln(rapport_cout_max),
  poids ``poids_cout`` ;
- revêtement après travaux dominant (seulement si les deux sont connus) : 0 s'il est le même, 1 sinon, poids
  ``poids_revetement``.

Un critère inconnu sort de la moyenne (il ne compte ni pour ni contre). Égalité : la plus récente d'abord. Chaque
pair porte une explication en français (« même type (cour d'école), surface 1 200 m² contre 950 m², 2023, Mèze »).
Paramètres : ``indicateurs/parametres/pairs.csv`` (avec leur raisonnement). Fonctions pures : tables en entrée.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from donnees.format import formater_nombre
from indicateurs.parametres import lire_table_parametres

FICHIER_PAIRS = Path(__file__).resolve().parent / "parametres" / "pairs.csv"
COLONNES_PAIRS = ["operation_id", "code_insee", "nom", "type_site", "annee", "surface_m2", "cout_par_m2",
                  "revetement_apres", "ecart_surface", "ecart_cout", "meme_revetement", "distance", "rang",
                  "explication"]


def lire_parametres_pairs() -> dict[str, float]:
    """Paramètres de la recherche des pairs (``pairs.csv``)."""
    return lire_table_parametres(FICHIER_PAIRS)["valeur"].astype(float).to_dict()


@dataclass(frozen=True)
class ProjetReference:
    """Le projet dont on cherche les pairs : type de site, surface (m², None si inconnue), coût au m² (None si
    inconnu ou non lisible), revêtement après travaux dominant (facultatif), opération à exclure (elle-même) et
    commune à exclure (page Commune : les pairs sont ailleurs)."""

    type_site: str
    surface_m2: float | None = None
    cout_par_m2: float | None = None
    revetement_apres: str | None = None
    operation_id: int | None = None
    exclure_commune: str | None = None


def _positif(valeur) -> float | None:
    try:
        nombre = float(valeur)
    except (TypeError, ValueError):
        return None
    return nombre if math.isfinite(nombre) and nombre > 0 else None


def relever_revetements_dominants(zones: pd.DataFrame) -> pd.Series:
    """Revêtement après travaux dominant (par la surface de ses zones) de chaque opération, indexé par
    ``operation_id``."""
    if zones is None or zones.empty:
        return pd.Series(dtype=object)
    surfaces = (pd.DataFrame({"operation_id": zones["operation_id"].astype(int).to_numpy(),
                              "revetement_apres": zones["revetement_apres"].astype(str).to_numpy(),
                              "surface_m2": zones["surface_m2"].to_numpy(float)})
                .groupby(["operation_id", "revetement_apres"], as_index=False)["surface_m2"].sum()
                .sort_values(["operation_id", "surface_m2", "revetement_apres"], ascending=[True, False, True]))
    dominant = surfaces.drop_duplicates("operation_id")
    return pd.Series(dominant["revetement_apres"].to_numpy(), index=dominant["operation_id"].to_numpy())


def classer_pairs(candidates: pd.DataFrame, projet: ProjetReference, parametres: dict[str, float] | None = None,
                  noms_communes: dict[str, str] | None = None, types_site: dict[str, str] | None = None,
                  revetements: dict[str, str] | None = None) -> pd.DataFrame:
    """Pairs du ``projet`` parmi ``candidates`` (opérations réalisées lisibles : ``operation_id``, ``code_insee``,
    ``nom``, ``type_site``, ``annee``, ``surface_m2``, ``cout_par_m2`` (NaN si inconnu ou non lisible),
    ``revetement_apres``), classés du plus proche au plus lointain, au plus ``nombre_max_pairs`` ; colonnes
    :data:`COLONNES_PAIRS`. Libellés (communes, types, revêtements) pour l'explication."""
    p = {**lire_parametres_pairs(), **(parametres or {})}
    noms, types, revs = noms_communes or {}, types_site or {}, revetements or {}
    table = candidates.copy()
    table = table[table["type_site"].astype(str).eq(projet.type_site).to_numpy(bool)]
    if projet.operation_id is not None:
        table = table[table["operation_id"].astype(int).ne(int(projet.operation_id)).to_numpy(bool)]
    if projet.exclure_commune:
        table = table[table["code_insee"].astype(str).ne(projet.exclure_commune).to_numpy(bool)]
    surface = pd.to_numeric(table["surface_m2"], errors="coerce").where(lambda s: s > 0)
    table = table[surface.notna().to_numpy(bool)].copy()
    surface = surface[surface.notna()].astype(float)
    s0, c0 = _positif(projet.surface_m2), _positif(projet.cout_par_m2)

    poids_total = pd.Series(0.0, index=table.index)
    somme = pd.Series(0.0, index=table.index)
    if s0 is not None:
        ecart_surface = np.abs(np.log(surface / s0))
        table = table[(ecart_surface <= math.log(p["rapport_surface_max"]) + 1e-9).to_numpy(bool)]
        ecart_surface, surface = ecart_surface[table.index], surface[table.index]
        poids_total, somme = poids_total[table.index], somme[table.index]
        somme += p["poids_surface"] * ecart_surface / math.log(p["rapport_surface_max"])
        poids_total += p["poids_surface"]
        table["ecart_surface"] = ecart_surface
    else:
        table["ecart_surface"] = np.nan
    cout = pd.to_numeric(table.get("cout_par_m2", pd.Series(np.nan, index=table.index)), errors="coerce")
    cout = cout.where(cout > 0)
    if c0 is not None:
        ecart_cout = np.abs(np.log(cout / c0))
        connu = ecart_cout.notna()
        somme[connu] += p["poids_cout"] * ecart_cout[connu] / math.log(p["rapport_cout_max"])
        poids_total[connu] += p["poids_cout"]
        table["ecart_cout"] = ecart_cout
    else:
        table["ecart_cout"] = np.nan
    revetement = table.get("revetement_apres", pd.Series(None, index=table.index, dtype=object))
    if projet.revetement_apres:
        connu = revetement.notna()
        meme = revetement.eq(projet.revetement_apres)
        somme[connu] += p["poids_revetement"] * (~meme[connu]).astype(float)
        poids_total[connu] += p["poids_revetement"]
        table["meme_revetement"] = pd.Series([bool(m) if c else None for m, c in zip(meme, connu)],
                                             index=table.index, dtype=object)
    else:
        table["meme_revetement"] = None
    table["surface_m2"] = surface
    table["cout_par_m2"] = cout
    table["distance"] = (somme / poids_total.where(poids_total > 0)).fillna(0.0)
    annee = pd.to_numeric(table["annee"], errors="coerce")
    table = (table.assign(_annee=annee.fillna(-1)).sort_values(["distance", "_annee", "operation_id"],
                                                               ascending=[True, False, True])
             .drop(columns="_annee").head(int(p["nombre_max_pairs"])).reset_index(drop=True))
    table["rang"] = np.arange(1, len(table) + 1)
    table["explication"] = [expliquer_pair(ligne, projet, noms, types, revs) for ligne in table.to_dict("records")]
    return table[COLONNES_PAIRS]


def expliquer_pair(pair: dict, projet: ProjetReference, noms_communes: dict[str, str], types_site: dict[str, str],
                   revetements: dict[str, str]) -> str:
    """« même type (cour d'école), surface 1 200 m² contre 950 m², coût 85 €/m² contre 110 €/m², même revêtement
    après (pelouse), 2023, Mèze » : ce qui rapproche le pair du projet, avec des chiffres à la française."""
    morceaux = [f"même type ({types_site.get(projet.type_site, projet.type_site)})"]
    surface = f"surface {formater_nombre(pair['surface_m2'], 0, 'm²')}"
    if _positif(projet.surface_m2) is not None:
        surface += f" contre {formater_nombre(projet.surface_m2, 0, 'm²')}"
    morceaux.append(surface)
    if _positif(pair.get("cout_par_m2")) is not None and _positif(projet.cout_par_m2) is not None:
        morceaux.append(f"coût {formater_nombre(pair['cout_par_m2'], 0, '€/m²')} contre "
                        f"{formater_nombre(projet.cout_par_m2, 0, '€/m²')}")
    if pair.get("meme_revetement") is True:
        morceaux.append(f"même revêtement après ({revetements.get(projet.revetement_apres, projet.revetement_apres)})")
    annee = pd.to_numeric(pd.Series([pair.get("annee")]), errors="coerce").iloc[0]
    if pd.notna(annee):
        morceaux.append(str(int(annee)))
    code = str(pair.get("code_insee") or "")
    morceaux.append(noms_communes.get(code, code))
    return ", ".join(m for m in morceaux if m)
