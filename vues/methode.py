"""Tables de la page Méthode, générées depuis le catalogue et les fichiers de paramètres."""

from __future__ import annotations

import pandas as pd

from indicateurs.catalogue import FAMILLES, decrire_indicateur, lire_catalogue
from indicateurs.parametres import lire_correspondance_revetements, lire_parametres_revetements, lire_table_parametres
from vues.format import formater_nombre

LIBELLES_NIVEAUX = {"operation": "opération", "commune": "commune et bassin", "annee": "année",
                    "parcelle": "parcelle", "grille": "grille (cellules)"}


def formater_parametre(valeur) -> str:
    """Valeur d'un paramètre à la française (jusqu'à 3 décimales utiles)."""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    nombre = float(valeur)
    decimales = 0 if nombre == int(nombre) else min(3, len(f"{nombre:.3f}".rstrip("0").split(".")[1]))
    return formater_nombre(nombre, decimales)


def tableau_parametres(fiche: dict) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Paramètres scalaires d'une fiche (une ligne chacun) et tables par revêtement (une par paramètre)."""
    scalaires, par_revetement = [], []
    for parametre in fiche["parametres"]:
        if isinstance(parametre["valeur"], dict):
            table = pd.DataFrame({"Revêtement": list(parametre["valeur"]),
                                  parametre["libelle"]: [formater_parametre(v) for v in parametre["valeur"].values()],
                                  "Source": [parametre["source"][r] for r in parametre["valeur"]]})
            table.attrs["titre"] = f"{parametre['libelle']} ({parametre['fichier']})"
            par_revetement.append(table)
        else:
            scalaires.append({"Paramètre": parametre["libelle"], "Code": parametre["code"],
                              "Valeur": formater_parametre(parametre["valeur"]), "Unité": parametre["unite"],
                              "Source": parametre["source"], "Fichier": parametre["fichier"]})
    return pd.DataFrame(scalaires), par_revetement


def decrire_familles(parametres=None) -> dict[str, list[dict]]:
    """Fiches de tous les indicateurs, regroupées par famille (ordre du catalogue)."""
    catalogue = lire_catalogue()
    familles: dict[str, list[dict]] = {nom: [] for nom in FAMILLES.values()}
    for code in catalogue.index:
        fiche = decrire_indicateur(code, parametres)
        fiche["niveaux_texte"] = ", ".join(LIBELLES_NIVEAUX.get(n, n) for n in fiche["niveaux"])
        familles[fiche["famille"]].append(fiche)
    return {nom: fiches for nom, fiches in familles.items() if fiches}


def tableau_revetements() -> pd.DataFrame:
    """Table des revêtements avec leurs paramètres et leur source (en-têtes en français)."""
    table = lire_parametres_revetements().reset_index()
    return table.rename(columns={"code": "Code", "libelle": "Libellé", "impermeable": "Imperméable",
                                 "c_ruissellement": "C (ruissellement)", "albedo": "Albédo", "ombre": "Ombre",
                                 "kc": "kc", "espace_vert": "Espace vert", "source": "Source"})


def tableau_modele(parametres=None, sources_territoire: dict | None = None) -> pd.DataFrame:
    """Paramètres de modèle : valeur en vigueur (territoire), valeur par défaut, bornes et source (celle du
    territoire quand il a sa propre valeur)."""
    table = lire_table_parametres().reset_index()
    en_vigueur = parametres.en_dict() if parametres is not None else dict(zip(table["code"], table["valeur"]))
    sources_territoire = sources_territoire or {}
    return pd.DataFrame({
        "Code": table["code"], "Paramètre": table["libelle"],
        "Valeur": [formater_parametre(en_vigueur[c]) for c in table["code"]],
        "Défaut": [formater_parametre(v) for v in table["valeur"]], "Unité": table["unite"],
        "Bornes": [f"{formater_parametre(a)} – {formater_parametre(b)}" for a, b in zip(table["minimum"],
                                                                                       table["maximum"])],
        "Source": [f"Territoire : {sources_territoire[c]}" if sources_territoire.get(c) else source
                   for c, source in zip(table["code"], table["source"])]})


def tableau_correspondance_ocsge() -> pd.DataFrame:
    """Correspondance des codes OCS GE vers les revêtements."""
    table = lire_correspondance_revetements()
    return table.rename(columns={"code_cs": "Couvert (code_cs)", "code_us": "Usage (code_us)",
                                 "libelle_cs": "Libellé", "revetement": "Revêtement", "source": "Source"})
