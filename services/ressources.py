"""Ressources (issue 16, partie 1) : recherche plein texte et filtres, échéances, ressources partagées par les autres
territoires de l'instance. Pour la page « Ressources » et ``desimper ressources lister``.

La recherche ignore les accents et la casse, et porte sur le titre, le résumé, le nom du fichier, le genre et les
thèmes : chaque mot cherché doit apparaître. Les ressources d'un autre territoire ne sont lues qu'avec les droits
du lecteur **dans ce territoire** (public, ou le compte qu'il y a ouvert) et seulement si elles sont publiées et
partagées (``partagee_territoires``) ; elles sont en lecture seule ici.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import date

import pandas as pd

from donnees.comptes import Utilisateur
from donnees.config import dans_territoire
from donnees.droits import MagasinProtege
from donnees.droits.ressources import jour_paris, selectionner_echeances_proches
from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import lire_genres_ressource, lire_parametres_ressources, lire_themes_ressource
from donnees.instance import TerritoireInstance
from services.magasin import ouvrir_magasin

__all__ = ["decrire_ressources", "lire_fichier_partage", "lire_ressources_partagees", "normaliser",
           "rechercher_ressources", "selectionner_echeances_proches"]


def normaliser(texte) -> str:
    """Texte sans accents, en minuscules, blancs réduits (pour comparer)."""
    decompose = unicodedata.normalize("NFKD", str(texte or "")).casefold()
    return " ".join("".join(c for c in decompose if not unicodedata.combining(c)).split())


def decrire_ressources(table: pd.DataFrame) -> pd.DataFrame:
    """Ajoute les libellés (``genre_libelle``, ``themes_libelles``) et le texte cherché (``_texte``)."""
    genres, themes = lire_genres_ressource(), lire_themes_ressource()
    table = table.copy()
    table["genre_libelle"] = [genres.get(g, {}).get("libelle", g) for g in table["genre"]]
    table["themes_libelles"] = [[themes.get(t, t) for t in liste] for liste in table["themes"]]
    noms = table["fichier_nom"] if "fichier_nom" in table.columns else pd.Series("", index=table.index)
    table["_texte"] = [normaliser(" ".join(str(v or "") for v in (titre, resume, nom, genre, " ".join(libelles))))
                       for titre, resume, nom, genre, libelles in zip(table["titre"], table["resume"], noms,
                                                                      table["genre_libelle"],
                                                                      table["themes_libelles"])]
    return table


def rechercher_ressources(table: pd.DataFrame, texte: str = "", genre: str | None = None, theme: str | None = None,
                          commune: str | None = None, echeance_a_venir: bool = False,
                          aujourdhui: date | None = None) -> pd.DataFrame:
    """Ressources (table déjà filtrée par les droits) qui contiennent chaque mot de ``texte`` (sans accents ni
    casse) et répondent aux filtres : genre, thème, commune (code INSEE), échéance à venir (aujourd'hui ou plus
    tard). Colonnes de :func:`decrire_ressources` ajoutées."""
    table = decrire_ressources(table)
    garde = pd.Series(True, index=table.index)
    for mot in normaliser(texte).split():
        garde &= table["_texte"].str.contains(mot, regex=False)
    if genre:
        garde &= table["genre"].eq(genre)
    if theme:
        garde &= table["themes"].map(lambda liste: theme in liste)
    if commune:
        garde &= table["communes"].map(lambda liste: commune in liste)
    if echeance_a_venir:
        aujourdhui = aujourdhui or jour_paris()
        garde &= pd.to_datetime(table["echeance"], errors="coerce").ge(pd.Timestamp(aujourdhui))
    return table[garde.to_numpy(bool)].drop(columns="_texte")


def jours_avant(echeance, aujourdhui: date | None = None) -> int | None:
    """Jours entre aujourd'hui et l'échéance (négatif : passée), None sans échéance."""
    if echeance is None or pd.isna(echeance):
        return None
    return (pd.Timestamp(echeance).date() - (aujourdhui or jour_paris())).days


def est_proche(echeance, aujourdhui: date | None = None) -> bool:
    """Vrai si l'échéance tombe dans le délai « échéance proche » (paramètre ``delai_echeance_proche_jours``)."""
    jours = jours_avant(echeance, aujourdhui)
    return jours is not None and 0 <= jours <= lire_parametres_ressources()["delai_echeance_proche_jours"]


def lire_ressources_partagees(territoires: Iterable[TerritoireInstance], code_courant: str,
                              utilisateur_de: Callable[[TerritoireInstance], Utilisateur]
                              ) -> tuple[pd.DataFrame, list[str]]:
    """Ressources publiées et partagées des autres territoires de l'instance, lues avec les droits du lecteur dans
    chacun (``utilisateur_de(territoire)``) ; colonnes ``territoire_code`` et ``territoire_nom`` ajoutées. Renvoie
    (table, messages des territoires illisibles)."""
    tables, erreurs = [], []
    for territoire in territoires:
        if territoire.code == code_courant:
            continue
        try:
            with dans_territoire(territoire.actif), ouvrir_magasin(territoire.dossier) as magasin:
                magasin.creer_tables()
                lues = MagasinProtege(magasin, utilisateur_de(territoire)).lire_ressources()
        except ErreurDonnees as erreur:
            erreurs.append(f"{territoire.nom} : {erreur}")
            continue
        lues = lues[lues["statut"].eq("publiee").to_numpy(bool) & lues["partagee_territoires"].to_numpy(bool)]
        tables.append(lues.assign(territoire_code=territoire.code, territoire_nom=territoire.nom))
    if not tables:
        return pd.DataFrame(columns=["id", "genre", "titre", "resume", "themes", "communes", "echeance", "statut",
                                     "partagee_territoires", "territoire_code", "territoire_nom"]), erreurs
    return pd.concat(tables, ignore_index=True), erreurs


def lire_fichier_partage(territoire: TerritoireInstance, utilisateur: Utilisateur, ressource_id: int) -> bytes:
    """Fichier d'une ressource publiée et partagée d'un autre territoire, lu avec les droits du lecteur dans ce
    territoire ; :class:`ErreurDonnees` si elle n'est pas partagée."""
    with dans_territoire(territoire.actif), ouvrir_magasin(territoire.dossier) as magasin:
        facade = MagasinProtege(magasin, utilisateur)
        ressource = facade.lire_ressource(int(ressource_id))
        if ressource["statut"] != "publiee" or not ressource["partagee_territoires"]:
            raise ErreurDonnees(f"La ressource n° {int(ressource_id)} du territoire {territoire.nom} n'est pas "
                                "partagée avec les autres territoires.", "ressource", "partagee_territoires")
        return facade.lire_fichier_ressource(int(ressource_id))
