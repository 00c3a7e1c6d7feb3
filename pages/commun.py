"""Colle Streamlit partagée par les pages : accès aux données mis en cache, état du territoire.

Les fonctions mises en cache prennent de petites clés (chemins, dates de modification, révision du
magasin), jamais des GeoDataFrames.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from donnees.config import chemin_territoire, dossier_donnees, url_base
from donnees.magasin import Magasin
from donnees.referentiel import chemin_couche, lire_couche, lire_territoire
from donnees.schemas import ErreurDonnees
from vues.actifs import MESSAGE_CDN, utiliser_actifs_locaux


def _signature(chemin: Path) -> int:
    """Date de modification (ns) d'un fichier, 0 s'il manque : invalide le cache après régénération."""
    return chemin.stat().st_mtime_ns if chemin.exists() else 0


@st.cache_resource(show_spinner=False)
def _obtenir_magasin(url: str) -> Magasin:
    return Magasin(url)


def obtenir_magasin() -> Magasin:
    """Magasin des opérations (une connexion partagée par processus)."""
    return _obtenir_magasin(url_base())


@st.cache_data(show_spinner=False)
def _charger_territoire(dossier: str, signature: int) -> dict:
    return lire_territoire(Path(dossier))


def charger_territoire() -> dict:
    """Description du territoire (nom, codes INSEE, démonstration)."""
    dossier = dossier_donnees()
    return _charger_territoire(str(dossier), _signature(chemin_territoire(dossier)))


@st.cache_data(show_spinner=False, max_entries=4)
def _charger_couche(nom: str, dossier: str, signature: int):
    return lire_couche(nom, Path(dossier))


def charger_couche(nom: str):
    """Couche du référentiel, validée, mise en cache jusqu'à sa prochaine modification."""
    dossier = dossier_donnees()
    return _charger_couche(nom, str(dossier), _signature(chemin_couche(nom, dossier)))


def revision_magasin() -> tuple:
    """Petite clé qui change dès qu'une opération est créée, modifiée ou supprimée."""
    return tuple(sorted(obtenir_magasin().compter().items()))


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_operations(url: str, revision: tuple):
    return obtenir_magasin().lire_operations()


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_zones(url: str, revision: tuple):
    return obtenir_magasin().lire_zones()


def charger_operations():
    """Opérations non supprimées (GeoDataFrame WGS84), rechargées quand le magasin change."""
    return _charger_operations(url_base(), revision_magasin())


def charger_zones():
    """Zones des opérations non supprimées (GeoDataFrame WGS84)."""
    return _charger_zones(url_base(), revision_magasin())


def verifier_donnees_pretes() -> dict | None:
    """Territoire chargé et magasin joignable ; sinon affiche un message en français et renvoie None."""
    try:
        territoire = charger_territoire()
        charger_couche("communes_affichage")
        obtenir_magasin().compter()
    except ErreurDonnees as exc:
        st.error(f"**Données indisponibles.** {exc}")
        st.info("Pour préparer le territoire de démonstration : `desimper demo` (ou `make demo`), "
                "puis rechargez la page.")
        return None
    except Exception as exc:  # base injoignable, fichier corrompu…
        st.error(f"**Données indisponibles** ({type(exc).__name__}). Vérifiez le dossier de données "
                 f"({dossier_donnees()}) et la base, par exemple avec `desimper verifier`.")
        return None
    return territoire


def afficher_barre_laterale(territoire: dict | None) -> None:
    """Barre latérale commune à toutes les pages : territoire et badge « démonstration »."""
    with st.sidebar:
        st.markdown("### Désimper")
        if territoire:
            st.markdown(f"**{territoire['nom']}**  \n{len(territoire['codes_insee'])} communes")
            if territoire.get("demo"):
                st.warning("Données de démonstration : géométries et opérations synthétiques.",
                           icon=":material/science:")
        if not utiliser_actifs_locaux() and not st.session_state.get("_avertissement_cdn"):
            st.session_state["_avertissement_cdn"] = True
            st.caption(MESSAGE_CDN)
