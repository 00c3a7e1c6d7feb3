"""Tables de la page Méthode, générées depuis le catalogue et les fichiers de paramètres."""

from __future__ import annotations

import pandas as pd

from indicateurs.catalogue import FAMILLES, decrire_indicateur, lire_catalogue
from indicateurs.eau_grille import lire_percolation
from indicateurs.parametres import (
    EFFETS_COMPROMIS,
    FICHIER_CHALEUR_SITE,
    compter_statuts,
    lire_compromis,
    lire_correspondance_revetements,
    lire_parametres_revetements,
    lire_statuts_percolation,
    lire_table_parametres,
    lister_compromis_zones,
)
from indicateurs.pairs import FICHIER_PAIRS
from indicateurs.potentiel import FICHIER_POTENTIEL
from indicateurs.scenarios import FICHIER_SCENARIOS
from indicateurs.priorites import FICHIER_PRIORITES
from vues.format import echapper_markdown, formater_nombre

LIBELLES_NIVEAUX = {"operation": "opération", "commune": "commune et bassin", "annee": "année",
                    "parcelle": "parcelle", "grille": "grille (cellules)"}


def formater_parametre(valeur) -> str:
    """Valeur d'un paramètre à la française (jusqu'à 3 décimales utiles)."""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    nombre = float(valeur)
    decimales = 0 if nombre == int(nombre) else min(3, len(f"{nombre:.3f}".rstrip("0").split(".")[1]))
    return formater_nombre(nombre, decimales)


def lire_statuts(fichier: str) -> dict[str, str]:
    """Statut (« publiée » ou « choix du projet ») de chaque ligne d'un fichier de paramètres, par code."""
    tables = {"indicateurs/parametres/modele.csv": lire_table_parametres,
              "indicateurs/parametres/priorites.csv": lambda: lire_table_parametres(FICHIER_PRIORITES),
              "indicateurs/parametres/chaleur_site.csv": lambda: lire_table_parametres(FICHIER_CHALEUR_SITE),
              "indicateurs/parametres/potentiel.csv": lambda: lire_table_parametres(FICHIER_POTENTIEL),
              "indicateurs/parametres/scenarios.csv": lambda: lire_table_parametres(FICHIER_SCENARIOS),
              "indicateurs/parametres/pairs.csv": lambda: lire_table_parametres(FICHIER_PAIRS),
              "indicateurs/parametres/percolation.csv": lire_statuts_percolation,
              "donnees/nomenclatures/revetements.csv": lire_parametres_revetements}
    return tables[fichier]()["statut"].to_dict() if fichier in tables else {}


def tableau_parametres(fiche: dict) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Paramètres scalaires d'une fiche (une ligne chacun) et tables par revêtement (une par paramètre), avec
    le statut de leur source."""
    scalaires, par_revetement = [], []
    for parametre in fiche["parametres"]:
        statuts = lire_statuts(parametre["fichier"])
        if isinstance(parametre["valeur"], dict):
            table = pd.DataFrame({"Revêtement": list(parametre["valeur"]),
                                  parametre["libelle"]: [formater_parametre(v) for v in parametre["valeur"].values()],
                                  "Statut": [statuts.get(r, "") for r in parametre["valeur"]],
                                  "Source": [parametre["source"][r] for r in parametre["valeur"]]})
            table.attrs["titre"] = f"{parametre['libelle']} ({parametre['fichier']})"
            par_revetement.append(table)
        else:
            scalaires.append({"Paramètre": parametre["libelle"], "Code": parametre["code"],
                              "Valeur": formater_parametre(parametre["valeur"]), "Unité": parametre["unite"],
                              "Statut": statuts.get(parametre["code"], ""), "Source": parametre["source"],
                              "Fichier": parametre["fichier"]})
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


def _texte(valeur) -> str:
    return "" if pd.isna(valeur) else str(valeur)


def tableau_revetements() -> pd.DataFrame:
    """Table des revêtements : paramètres (nombres à la française), statut, source et raisonnement des choix du
    projet (en-têtes en français)."""
    table = lire_parametres_revetements().reset_index()
    sortie = pd.DataFrame({"Code": table["code"], "Libellé": table["libelle"],
                           "Imperméable": table["impermeable"].map({True: "oui", False: "non"})})
    for colonne, titre in (("c_ruissellement", "C (ruissellement annuel)"), ("albedo", "Albédo"),
                           ("ombre", "Ombre"), ("kc", "kc"), ("espace_vert", "Espace vert")):
        sortie[titre] = [formater_parametre(v) for v in table[colonne]]
    sortie["Statut"] = table["statut"]
    sortie["Source"] = table["source"]
    sortie["Raisonnement (choix du projet)"] = table["raisonnement"].map(_texte)
    return sortie


def tableau_percolation() -> pd.DataFrame:
    """Ratio de percolation PE par revêtement (``percolation.csv``), statut et source."""
    valeurs, statuts = lire_percolation(), lire_statuts_percolation()
    libelles = lire_parametres_revetements()["libelle"]
    return pd.DataFrame({"Code": valeurs.index.to_numpy(),
                         "Revêtement": [libelles.get(c, c) for c in valeurs.index],
                         "PE": [formater_parametre(v) for v in valeurs.to_numpy()],
                         "Statut": statuts["statut"].reindex(valeurs.index).to_numpy(),
                         "Source": statuts["source"].reindex(valeurs.index).to_numpy(),
                         "Raisonnement (choix du projet)": statuts["raisonnement"].reindex(valeurs.index)
                         .map(_texte).to_numpy()})


def tableau_priorites() -> pd.DataFrame:
    """Paramètres du score de priorité (``priorites.csv``) : valeur, unité, bornes, statut, source."""
    return _tableau_scalaires(FICHIER_PRIORITES)


def tableau_potentiel(surcharges: dict | None = None, sources_territoire: dict | None = None) -> pd.DataFrame:
    """Règles du potentiel de désimperméabilisation (``potentiel.csv`` : poids, notes des sols, exclusions,
    facteurs des contraintes, seuils des classes), comme :func:`tableau_priorites`, avec la valeur en vigueur :
    celle du territoire (clé ``potentiel`` de ``territoire.json``, modifiable dans Administration) et sa source."""
    table = _tableau_scalaires(FICHIER_POTENTIEL)
    surcharges, sources_territoire = surcharges or {}, sources_territoire or {}
    defauts = lire_table_parametres(FICHIER_POTENTIEL)["valeur"]
    table.insert(3, "Défaut", table["Valeur"])
    table["Valeur"] = [formater_parametre(surcharges.get(c, defauts[c])) for c in table["Code"]]
    territoire = table["Code"].map(lambda c: c in surcharges).to_numpy(bool)
    table.loc[territoire, "Statut"] = "valeur du territoire"
    table.loc[territoire, "Source"] = [f"Territoire : {sources_territoire.get(c, '')}".rstrip(" :")
                                       for c in table.loc[territoire, "Code"]]
    return table


def tableau_scenarios() -> pd.DataFrame:
    """Paramètres des scénarios prospectifs (``scenarios.csv`` : estimation des coûts), comme
    :func:`tableau_priorites`."""
    return _tableau_scalaires(FICHIER_SCENARIOS)


def tableau_pairs() -> pd.DataFrame:
    """Paramètres de « Qui l'a fait avant moi ? » (``pairs.csv`` : tolérances, poids, nombre de pairs), comme
    :func:`tableau_priorites`."""
    return _tableau_scalaires(FICHIER_PAIRS)


def tableau_chaleur_site() -> pd.DataFrame:
    """Paramètres de l'estimation de chaleur par site (``chaleur_site.csv``), comme :func:`tableau_priorites`."""
    return _tableau_scalaires(FICHIER_CHALEUR_SITE)


def _tableau_scalaires(chemin) -> pd.DataFrame:
    table = lire_table_parametres(chemin).reset_index()
    return pd.DataFrame({
        "Code": table["code"], "Paramètre": table["libelle"],
        "Valeur": [formater_parametre(v) for v in table["valeur"]], "Unité": table["unite"],
        "Bornes": [f"{formater_parametre(a)} – {formater_parametre(b)}" for a, b in zip(table["minimum"],
                                                                                       table["maximum"])],
        "Statut": table["statut"], "Source": table["source"],
        "Raisonnement (choix du projet)": table["raisonnement"].map(_texte)})


def tableau_statuts() -> pd.DataFrame:
    """Nombre de lignes « publiée » et « choix du projet » par fichier de paramètres, et leur total."""
    table = compter_statuts()
    table["fichier"] = table["fichier"].str.rsplit("/", n=1).str[-1]
    total = pd.DataFrame([{"fichier": "Total", **table.drop(columns="fichier").sum().to_dict()}])
    return pd.concat([table, total], ignore_index=True).rename(
        columns={"fichier": "Fichier", "publiée": "Publiée", "choix du projet": "Choix du projet"})


def tableau_compromis() -> pd.DataFrame:
    """Couples de revêtements à compromis déclarés (``compromis.csv``) : ils réduisent l'imperméabilisation mais
    dégradent la chaleur ou l'eau."""
    table, libelles = lire_compromis(), lire_parametres_revetements()["libelle"]
    return pd.DataFrame({"Avant": table["avant"].map(libelles).to_numpy(),
                         "Après": table["apres"].map(libelles).to_numpy(),
                         "Effet": table["effet"].map(EFFETS_COMPROMIS).to_numpy(),
                         "Raison": table["raison"].to_numpy()})


def tableau_modele(parametres=None, sources_territoire: dict | None = None) -> pd.DataFrame:
    """Paramètres de modèle : valeur en vigueur (territoire), valeur par défaut, bornes, statut, source (celle
    du territoire quand il a sa propre valeur) et raisonnement des choix du projet."""
    table = lire_table_parametres().reset_index()
    en_vigueur = parametres.en_dict() if parametres is not None else dict(zip(table["code"], table["valeur"]))
    sources_territoire = sources_territoire or {}
    return pd.DataFrame({
        "Code": table["code"], "Paramètre": table["libelle"],
        "Valeur": [formater_parametre(en_vigueur[c]) for c in table["code"]],
        "Défaut": [formater_parametre(v) for v in table["valeur"]], "Unité": table["unite"],
        "Bornes": [f"{formater_parametre(a)} – {formater_parametre(b)}" for a, b in zip(table["minimum"],
                                                                                       table["maximum"])],
        "Statut": ["valeur du territoire" if sources_territoire.get(c) else statut
                   for c, statut in zip(table["code"], table["statut"])],
        "Source": [f"Territoire : {sources_territoire[c]}" if sources_territoire.get(c) else source
                   for c, source in zip(table["code"], table["source"])],
        "Raisonnement (choix du projet)": table["raisonnement"].map(_texte)})


def tableau_correspondance_ocsge() -> pd.DataFrame:
    """Correspondance des codes OCS GE vers les revêtements."""
    table = lire_correspondance_revetements()
    return table.rename(columns={"code_cs": "Couvert (code_cs)", "code_us": "Usage (code_us)",
                                 "libelle_cs": "Libellé", "revetement": "Revêtement", "source": "Source"})


def decrire_compromis_zones(zones: pd.DataFrame) -> list[str]:
    """Messages (français) des compromis que portent les zones d'une opération : ces changements réduisent
    l'imperméabilisation mais dégradent la chaleur ou l'eau ; ils ne sont pas présentés comme des gains."""
    libelles = lire_parametres_revetements()["libelle"]
    return [f"Compromis, pas un gain : {libelles.get(ligne.avant, ligne.avant)} → "
            f"{libelles.get(ligne.apres, ligne.apres)} ({EFFETS_COMPROMIS[ligne.effet]}). {ligne.raison}"
            for ligne in lister_compromis_zones(zones).itertuples()]


COLONNES_SOURCES = ("Statut", "Source", "Raisonnement (choix du projet)")
def separer_sources(table: pd.DataFrame, colonne_nom: str) -> tuple[pd.DataFrame, str]:
    """Table compacte (sans source ni raisonnement, statut en deuxième colonne) et liste Markdown des sources :
    une puce par ligne « code · nom — statut. Source : … Raisonnement : … » (lisible sur un écran étroit)."""
    puces = []
    for _, ligne in table.iterrows():
        texte = (f"- **{echapper_markdown(ligne['Code'])}** · {echapper_markdown(ligne[colonne_nom])} — "
                 f"*{echapper_markdown(ligne['Statut'])}*. Source : {echapper_markdown(ligne['Source'])}")
        raisonnement = ligne.get("Raisonnement (choix du projet)", "")
        if isinstance(raisonnement, str) and raisonnement.strip():
            texte += f"  \n  Raisonnement et plage testée : {echapper_markdown(raisonnement)}"
        puces.append(texte)
    compacte = table.drop(columns=[c for c in COLONNES_SOURCES[1:] if c in table.columns])
    ordre = ["Code", "Statut", *[c for c in compacte.columns if c not in ("Code", "Statut")]]
    return compacte[ordre], "\n".join(puces)


def lister_compromis_markdown(table: pd.DataFrame) -> str:
    """Liste Markdown des compromis (:func:`tableau_compromis`) : « avant → après (effet) : raison »."""
    return "\n".join(f"- **{echapper_markdown(ligne['Avant'])} → {echapper_markdown(ligne['Après'])}** "
                     f"({echapper_markdown(ligne['Effet'])}) : {echapper_markdown(ligne['Raison'])}"
                     for _, ligne in table.iterrows())


def preparer_contenu_methode(parametres, sources_territoire: dict | None = None,
                             potentiel_territoire: tuple[dict, dict] | None = None) -> dict:
    """Fiches des indicateurs et tables de la page Méthode pour ces paramètres en vigueur et ces sources de
    ``territoire.json`` : familles, tableaux de paramètres par fiche, statuts, tables sourcées (modèle,
    revêtements, percolation, priorités, chaleur du site, potentiel avec ``potentiel_territoire`` = (règles
    surchargées, leurs sources)), correspondance OCS GE, compromis."""
    familles = decrire_familles(parametres)
    return {
        "familles": familles,
        "parametres_fiches": {fiche["code"]: tableau_parametres(fiche)
                              for fiches in familles.values() for fiche in fiches},
        "statuts": tableau_statuts(),
        "sourcees": {cle: separer_sources(table, colonne) for cle, (table, colonne) in {
            "modele": (tableau_modele(parametres, sources_territoire), "Paramètre"),
            "revetements": (tableau_revetements(), "Libellé"), "percolation": (tableau_percolation(), "Revêtement"),
            "priorites": (tableau_priorites(), "Paramètre"),
            "chaleur_site": (tableau_chaleur_site(), "Paramètre"),
            "potentiel": (tableau_potentiel(*(potentiel_territoire or ({}, {}))), "Paramètre"),
            "scenarios": (tableau_scenarios(), "Paramètre"),
            "pairs": (tableau_pairs(), "Paramètre")}.items()},
        "ocsge": tableau_correspondance_ocsge(),
        "compromis": lister_compromis_markdown(tableau_compromis()),
    }
