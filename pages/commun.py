"""Colle Streamlit partagée par les pages : accès aux données mis en cache, état du territoire.

Les fonctions mises en cache prennent de petites clés (chemins, dates de modification, révision du
magasin), jamais des GeoDataFrames.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from donnees.comptes import VISITEUR, ErreurAuthentification, Utilisateur, associer_compte_oidc
from donnees.config import (
    activer_territoire,
    chemin_territoire,
    dans_territoire,
    dossier_donnees,
    dossier_instance,
    territoire_actif,
    url_base,
)
from donnees.droits import filtrer_operations as filtrer_selon_droits
from donnees.droits import est_public, filtrer_financements, lire_noms_communes, lire_perimetre, peut
from donnees.droits import nommer_commune as nommer_code_commune
from donnees.droits.territoires import lire_utilisateur_territoire
from donnees.instance import chemin_instance, lister_territoires
from donnees.nomenclatures import ROLES, STATUTS, VALIDATIONS, lire_types_site
from donnees.erreurs import ErreurDonnees, ErreurPanne, traduire_panne
from donnees.schemas import SCHEMAS
from donnees.sessions import (
    NOM_COOKIE,
    fermer_autres_sessions,
    fermer_session,
    fermer_sessions_compte,
    lire_duree_cookie_secondes,
    lire_session,
    lister_sessions,
    ouvrir_session,
)
from indicateurs.calcul import (
    calculer_indicateurs_annees,
    calculer_indicateurs_groupes,
    calculer_indicateurs_operations,
)
from indicateurs.catalogue import titre_axe
from indicateurs.communs import Filtres, masque_filtres  # Filtres : réexporté pour les pages
from indicateurs.parametres import lire_parametres
from indicateurs.potentiel import COUCHES_CRITERES
from services.surfaces import calculer_surfaces_impermeables
from services import exports, indicateurs, potentiel, priorites, referentiel, saisie, territoires
from services.exports import COLONNES_EXPORT, TYPES_MIME, exporter_table  # noqa: F401 (réexportés)
from services.magasin import lire_agregats, lire_registre_modeles, preparer_magasin
from services.modeles import calculer_modeles_territoire
from services.referentiel import chemin_couche, lire_couche_territoire, lire_territoire, signer_fichier
from services.saisie import ConflitVersion, PhotoDeposee  # noqa: F401 (réexportés pour la saisie)
from vues.actifs import MESSAGE_CDN, utiliser_actifs_locaux
from vues.cartes import ResumeOperations, placer_cercles_indicateurs, preparer_points_operations
from vues.cartes import convertir_contours_geojson, legender_rampe, lire_fonds_carte, lire_styles
from vues.fiches import construire_fiche_html
from vues.figures import configurer_export, habiller_figure
from vues.format import echapper_markdown, formater_nombre
from vues.images import creer_vignette, grille_en_png
from vues.methode import preparer_contenu_methode

journal = logging.getLogger(__name__)
_signature = signer_fichier


@st.cache_resource(show_spinner=False)
def _obtenir_magasin(url: str):
    return preparer_magasin(url)


def obtenir_magasin():
    """Magasin des opérations (une connexion partagée par processus)."""
    return _obtenir_magasin(url_base())


@st.cache_data(show_spinner=False)
def _charger_territoire(dossier: str, signature: int) -> dict:
    return lire_territoire(Path(dossier))


def charger_territoire() -> dict:
    """Description du territoire (nom, codes INSEE, démonstration)."""
    dossier = dossier_donnees()
    return _charger_territoire(str(dossier), _signature(chemin_territoire(dossier)))


def cle_territoire() -> tuple:
    """Petite clé de cache : dossier de données et date de modification de ``territoire.json`` (paramètres,
    sources)."""
    dossier = dossier_donnees()
    return str(dossier), _signature(chemin_territoire(dossier))


@st.cache_resource(show_spinner=False, max_entries=4)
def _contenu_methode(cle: tuple) -> dict:
    territoire = charger_territoire()
    return preparer_contenu_methode(parametres_territoire(), territoire.get("sources_parametres"),
                                    (territoire.get("potentiel") or {}, territoire.get("sources_potentiel") or {}))


def lire_contenu_methode() -> dict:
    """Contenu de la page Méthode (:func:`vues.methode.preparer_contenu_methode`), calculé une fois par processus
    et par version de ``territoire.json`` : les fichiers de paramètres du projet ne changent pas pendant la vie du
    processus. Tables partagées entre sessions : ne pas les modifier."""
    return _contenu_methode(cle_territoire())


@st.cache_resource(show_spinner=False, max_entries=12)
def _charger_couche(nom: str, dossier: str, signature: int):
    # Territoire réel partiellement importé : une couche facultative absente est une table vide, et les
    # pages disent quelle commande la charge (signaler_couche_absente).
    return lire_couche_territoire(nom, Path(dossier))


@st.cache_resource(show_spinner=False, max_entries=16)
def _charger_couche_commune(nom: str, dossier: str, signature: int, code: str):
    return lire_couche_territoire(nom, Path(dossier), communes=[code])


def charger_couche_commune(nom: str, code: str):
    """Lignes d'une seule commune d'une couche (pour une couche rangée par commune, seule sa partition est lue),
    partagées entre sessions jusqu'à la prochaine modification de la couche : ne pas les modifier en place."""
    dossier = dossier_donnees()
    return _charger_couche_commune(nom, str(dossier), _signature(chemin_couche(nom, dossier)), code)


def couche_presente(nom: str) -> bool:
    """Vrai si la couche a été importée (ou générée par la démonstration)."""
    return chemin_couche(nom, dossier_donnees()).exists()


def signaler_couche_absente(nom: str, effet: str) -> bool:
    """Si la couche manque, dit en français ce qui manque, son effet et la commande qui la charge ; renvoie
    vrai si elle manque."""
    if couche_presente(nom):
        return False
    commandes = {"parcelles": "desimper importer parcelles --telecharger",
                 "batiments": "desimper importer batiments --telecharger",
                 "occupation": "desimper importer occupation --depuis OCS_GE.gpkg"}
    commande = commandes.get(nom)
    conseil = f" Un administrateur la charge avec `{commande}`." if commande else ""
    st.info(f"Couche « {SCHEMAS[nom].libelle} » non importée pour ce territoire : {effet}.{conseil}",
            icon=":material/layers_clear:")
    return True


def charger_couche(nom: str):
    """Couche du référentiel, validée, partagée entre sessions jusqu'à sa prochaine modification.

    La table renvoyée est partagée : ne jamais la modifier en place (les indicateurs travaillent sur
    des copies).
    """
    dossier = dossier_donnees()
    return _charger_couche(nom, str(dossier), _signature(chemin_couche(nom, dossier)))


def revision_magasin() -> tuple:
    """Petite clé qui change dès qu'une opération est créée, modifiée ou supprimée.

    Lue dans le magasin une fois par exécution du script (une page la demande jusqu'à une quinzaine de fois,
    chaque lecture compte les lignes de toutes les tables) ; une écriture l'oublie (:func:`oublier_revision`),
    et toute écriture de page est suivie d'une relance, qui la relit.
    """
    execution = _execution_courante()
    memoire = st.session_state.get("_revision_execution")
    if execution is not None and memoire is not None and memoire[0] is execution:
        return memoire[1]
    revision = tuple(sorted(obtenir_magasin().compter().items()))
    if execution is not None:
        st.session_state["_revision_execution"] = (execution, revision)
    return revision


def oublier_revision() -> None:
    """Après une écriture : la révision du magasin sera relue à sa prochaine demande."""
    st.session_state.pop("_revision_execution", None)


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_operations(url: str, revision: tuple):
    return obtenir_magasin().lire_operations()


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_zones(url: str, revision: tuple):
    return obtenir_magasin().lire_zones()


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_financements(url: str, revision: tuple):
    return obtenir_magasin().lire_financements()


# ------------------------------------------------------------------------------------ navigation

# Pages de l'application, dans l'ordre de la navigation : (fichier, titre, icône, action qu'il faut pouvoir
# faire pour s'en servir, ou None). Une page que le rôle ne peut pas utiliser est cachée de sa navigation mais
# reste joignable par son adresse, où elle refuse elle-même (ouvrir_page_reservee).
PAGES = [
    ("pages/vue_ensemble.py", "Vue d'ensemble", ":material/dashboard:", None),
    ("pages/territoires.py", "Territoires", ":material/public:", None),
    ("pages/carte.py", "Carte", ":material/map:", None),
    ("pages/commune.py", "Commune", ":material/location_city:", None),
    ("pages/fiche.py", "Fiche opération", ":material/description:", None),
    ("pages/operations.py", "Opérations", ":material/table_rows:", None),
    ("pages/a_valider.py", "À valider", ":material/fact_check:", "valider"),
    ("pages/saisie.py", "Saisir une opération", ":material/edit_square:", "creer"),
    ("pages/importer.py", "Importer", ":material/upload_file:", "creer"),
    ("pages/retours.py", "Retours d'expérience", ":material/forum:", None),
    ("pages/ressources.py", "Ressources", ":material/menu_book:", None),
    ("pages/agenda.py", "Agenda", ":material/event:", None),  # agenda de la communauté (issue 16, partie 3)
    ("pages/scenarios.py", "Scénarios", ":material/timeline:", "lire_scenarios"),
    ("pages/indicateurs.py", "Indicateurs", ":material/bar_chart:", None),
    ("pages/notifications.py", "Notifications", ":material/notifications:", "lire_notifications"),
    ("pages/annuaire.py", "Annuaire", ":material/contacts:", "lire_annuaire"),  # issue 16, partie 4
    ("pages/methode.py", "Méthode", ":material/functions:", None),
    ("pages/administration.py", "Administration", ":material/admin_panel_settings:", "gerer_comptes"),
    ("pages/connexion.py", "Connexion", ":material/login:", None),
]


def lister_pages(utilisateur: Utilisateur, nombre_a_valider: int | None = None,
                 plusieurs_territoires: bool = False, nombre_notifications: int | None = None) -> list[dict]:
    """Pages de la navigation pour cet utilisateur : ``chemin``, ``titre``, ``icone``, ``defaut``, ``visible``
    (vrai si ``donnees.droits.peut`` lui permet l'action de la page). La file « À valider » porte son nombre
    d'opérations en attente dans son titre, la page « Notifications » son nombre de non lues ; la page
    « Territoires » n'est montrée que si l'instance en a plusieurs."""
    pages = []
    for chemin, titre, icone, action in PAGES:
        if chemin == "pages/a_valider.py" and nombre_a_valider is not None:
            titre = f"{titre} ({nombre_a_valider})"
        if chemin == PAGE_NOTIFICATIONS and nombre_notifications:
            titre = f"{titre} ({nombre_notifications})"
        visible = action is None or peut(utilisateur, action)
        if chemin == PAGE_TERRITOIRES:
            visible = plusieurs_territoires
        pages.append({"chemin": chemin, "titre": titre, "icone": icone, "defaut": chemin == PAGES[0][0],
                      "visible": visible})
    return pages


@st.cache_data(show_spinner=False, max_entries=8)
def _a_valider(url: str, revision: tuple):
    operations = _charger_operations(url, revision)
    return operations[operations["validation"].eq("a_valider").to_numpy(bool)]


@st.cache_data(show_spinner=False, max_entries=8)
def _nombre_a_valider(url: str, revision: tuple) -> int:
    grains = _agregats_visibles(url, revision, ("administrateur", ()),
                                _signature(chemin_territoire(dossier_donnees()))).operations
    return int(grains.loc[grains["validation"].eq("a_valider").to_numpy(bool), "nombre_operations"].sum())


def lire_a_valider():
    """Opérations (non supprimées) soumises et en attente de validation, des plus anciennes aux plus récentes ;
    à n'afficher qu'à qui peut valider."""
    return _a_valider(url_base(), revision_magasin()).sort_values("id")


def lire_a_corriger():
    """Opérations « à corriger » des communes de l'utilisateur courant (celles qu'il peut modifier), avec le
    commentaire du syndicat ; vide pour qui n'a pas de communes à lui (public, financeur, syndicat)."""
    import numpy as np

    utilisateur = utilisateur_courant()
    operations = charger_operations()
    if not lire_perimetre(utilisateur, "modifier"):  # None (toutes, le syndicat) ou aucune
        return operations.iloc[0:0]
    a_corriger = operations[operations["validation"].eq("a_corriger").to_numpy(bool)]
    permises = np.array([peut(utilisateur, "modifier", operation=o) for o in a_corriger.to_dict("records")],
                        dtype=bool)
    return a_corriger[permises]


def construire_navigation():
    """Navigation Streamlit selon les droits de l'utilisateur courant (voir :func:`lister_pages`)."""
    utilisateur = utilisateur_courant()
    nombre = _nombre_a_valider(url_base(), revision_magasin()) if peut(utilisateur, "valider") else None
    return st.navigation([
        st.Page(p["chemin"], title=p["titre"], icon=p["icone"], default=p["defaut"],
                visibility="visible" if p["visible"] else "hidden")
        for p in lister_pages(utilisateur, nombre, plusieurs_territoires(), compter_notifications_non_lues())],
        expanded=True)  # pas de « View more » en anglais


PAGE_NOTIFICATIONS = "pages/notifications.py"


def compter_notifications_non_lues() -> int:
    """Notifications non lues de l'utilisateur courant (0 pour le public), relues à chaque exécution : une requête
    de comptage sur l'index du destinataire."""
    utilisateur = utilisateur_courant()
    if not peut(utilisateur, "lire_notifications"):
        return 0
    return obtenir_magasin().compter_notifications_non_lues(utilisateur.email)


# ------------------------------------------------------------------------------------ territoires de l'instance

PAGE_TERRITOIRES = "pages/territoires.py"
# Clés de l'état de session communes à tous les territoires ; les autres (filtres, choix de commune, session du
# compte…) sont propres au territoire et effacées quand on en change.
CLES_INSTANCE = ("territoire_code", "territoire_demande", "choix_territoire", "_jetons_territoires",
                 "_avertissement_cdn")


@st.cache_data(show_spinner=False, max_entries=4)
def _territoires_instance(racine: str, signature: int) -> list:
    return lister_territoires(Path(racine))


def lister_territoires_instance() -> list:
    """Territoires de l'instance (:func:`donnees.instance.lister_territoires`), relus quand ``instance.json``
    change ; un seul sans registre."""
    racine = dossier_instance()
    return _territoires_instance(str(racine), _signature(chemin_instance(racine)))


def plusieurs_territoires() -> bool:
    """Vrai si l'instance héberge plusieurs territoires (sélecteur, page « Territoires »)."""
    return len(lister_territoires_instance()) > 1


def territoire_courant():
    """Territoire de l'instance choisi par cette session (:func:`choisir_territoire`)."""
    territoires = lister_territoires_instance()
    code = st.session_state.get("territoire_code")
    return next((t for t in territoires if t.code == code), None) or next(t for t in territoires if t.defaut)


def choisir_territoire() -> None:
    """Territoire actif de cette exécution du script (app.py, avant tout accès aux données).

    Demande du sélecteur, sinon ``?territoire=code`` de l'adresse, sinon le choix gardé par la session, sinon le
    territoire par défaut du registre. Sans registre ``instance.json``, rien n'est activé : dossier et base de
    l'environnement, comme avant. Changer de territoire range le jeton de session du territoire quitté et
    efface l'état propre au territoire (filtres, commune choisie…) : on est anonyme là où l'on n'a pas de
    session, et de nouveau connecté en revenant.
    """
    if not chemin_instance(dossier_instance()).is_file():
        return
    etat = st.session_state
    territoires = lister_territoires_instance()
    demande = etat.pop("territoire_demande", None) or st.query_params.get("territoire") or etat.get("territoire_code")
    choisi = next((t for t in territoires if t.code == demande), None) or next(t for t in territoires if t.defaut)
    ancien = etat.get("territoire_code")
    if ancien is not None and ancien != choisi.code:
        _changer_territoire(ancien, choisi.code)
    etat["territoire_code"] = choisi.code
    activer_territoire(choisi.actif)
    if len(territoires) > 1 and st.query_params.get("territoire") != choisi.code:
        st.query_params["territoire"] = choisi.code  # adresse partageable : ouvre ce territoire


def _changer_territoire(ancien: str, nouveau: str) -> None:
    etat = st.session_state
    jetons = etat.setdefault("_jetons_territoires", {})
    jetons[ancien] = etat.get("jeton_session")
    for cle in list(etat.keys()):
        if cle not in CLES_INSTANCE:
            del etat[cle]
    if jetons.get(nouveau):
        etat["jeton_session"] = jetons[nouveau]


def nommer_cookie_session() -> str:
    """Nom du cookie de session : propre au territoire dans une instance à registre (``desimper_session_thau``),
    ``desimper_session`` sinon. Un compte ne vaut que dans son territoire ; chaque territoire a donc sa session."""
    if not chemin_instance(dossier_instance()).is_file():
        return NOM_COOKIE
    return f"{NOM_COOKIE}_{territoire_courant().code}"


def afficher_choix_territoire() -> None:
    """Sélecteur de territoire dans la barre latérale, quand l'instance en a plusieurs."""
    territoires = lister_territoires_instance()
    if len(territoires) < 2:
        return
    noms = {t.code: t.nom for t in territoires}
    st.session_state["choix_territoire"] = territoire_courant().code
    st.selectbox("Territoire", list(noms), format_func=noms.get, key="choix_territoire",
                 on_change=lambda: st.session_state.update(territoire_demande=st.session_state["choix_territoire"]),
                 help="Chaque territoire a ses données, ses paramètres et ses comptes : on y est connecté "
                      "séparément.")


def _utilisateur_du_territoire(territoire) -> Utilisateur:
    """Utilisateur de cette session dans ``territoire`` : le courant pour le territoire actif ; pour un autre, le
    compte de la session qu'on y a ouverte (jeton rangé par cet onglet ou cookie), relu dans sa base."""
    if territoire.code == territoire_courant().code:
        return utilisateur_courant()
    jeton = (st.session_state.get("_jetons_territoires", {}).get(territoire.code)
             or st.context.cookies.get(f"{NOM_COOKIE}_{territoire.code}"))
    return lire_utilisateur_territoire(_obtenir_magasin(territoire.url), jeton)


@st.cache_data(show_spinner=False, max_entries=32)
def _chiffres_territoire(url: str, revision: tuple, cle: tuple, signatures: tuple, _territoire):
    return territoires.calculer_chiffres_territoire(_territoire, _utilisateur_de_cle(cle))


def calculer_chiffres_territoires() -> list:
    """Chiffres clés de chaque territoire de l'instance (:func:`services.territoires.calculer_chiffres_territoire`)
    avec les droits de cette session **dans ce territoire**, mis en cache par territoire (base, révision, droits,
    couches)."""
    resultats = []
    for territoire in lister_territoires_instance():
        with dans_territoire(territoire.actif):
            utilisateur = _utilisateur_du_territoire(territoire)
            revision = tuple(sorted(_obtenir_magasin(territoire.url).compter().items()))
            signatures = (*referentiel.signer_couches(territoire.dossier, "communes", "objectifs",
                                                      "nouvelles_surfaces"),
                          _signature(chemin_territoire(territoire.dossier)))
            cle = (utilisateur.role, tuple(sorted(utilisateur.communes)))
            resultats.append(_chiffres_territoire(territoire.url, revision, cle, signatures, territoire))
    return resultats


# ------------------------------------------------------------------------------------ utilisateur


def _execution_courante() -> object | None:
    """Objet propre à l'exécution en cours du script (remplacé à chaque exécution), ``None`` hors exécution."""
    contexte = get_script_run_ctx()
    return getattr(contexte, "cursors", None) if contexte is not None else None


def utilisateur_courant() -> Utilisateur:
    """Utilisateur connecté, relu dans le magasin une fois par exécution (:func:`relire_session`), ou le visiteur.

    Relire à chaque exécution (une lecture indexée par l'empreinte du jeton) garantit qu'aucune page ni aucune clé
    de cache ne se sert de droits périmés, même quand une page s'exécute sans passer par app.py. La lecture est
    gardée le temps de l'exécution (une page demande l'utilisateur jusqu'à une vingtaine de fois).
    """
    execution = _execution_courante()
    memoire = st.session_state.get("_session_execution")
    if execution is not None and memoire is not None and memoire[0] is execution:
        return memoire[1]
    utilisateur = relire_session()
    if execution is not None:
        st.session_state["_session_execution"] = (execution, utilisateur)
    return utilisateur


def lire_cookie_session() -> str | None:
    """Jeton du cookie de session (celui du territoire actif) envoyé par le navigateur à l'ouverture de la page
    (``st.context.cookies``)."""
    return st.context.cookies.get(nommer_cookie_session())


def _jeton_presente() -> str | None:
    """Jeton de la session : celui de cet onglet, sinon le cookie envoyé à l'ouverture de la page (F5, nouvel
    onglet) ; un jeton déjà refusé dans cet onglet n'est pas relu."""
    jeton = st.session_state.get("jeton_session")
    if jeton:
        return jeton
    cookie = lire_cookie_session()
    return cookie if cookie and cookie != st.session_state.get("jeton_refuse") else None


def relire_session() -> Utilisateur:
    """Relit la session dans le magasin et l'état **courant** du compte.

    Un jeton révoqué, expiré (inactivité ou durée absolue) ou d'un compte désactivé ramène à la vue publique,
    avec un message ; un rôle ou des communes modifiés s'appliquent aussitôt (et aux clés des caches).
    """
    jeton = _jeton_presente()
    if jeton is None:
        st.session_state.pop("utilisateur", None)
        if oidc_configure() and st.user.is_logged_in:
            return _connecter_par_oidc()
        return VISITEUR
    etat = lire_session(obtenir_magasin(), jeton)
    if etat.utilisateur is None:
        for cle in ("utilisateur", "jeton_session"):
            st.session_state.pop(cle, None)
        st.session_state["jeton_refuse"] = jeton
        st.session_state["cookie_session"] = None  # effacer le cookie devenu inutile
        if etat.message:
            st.session_state["message_session"] = etat.message
            st.toast(etat.message, icon=":material/logout:")
        return VISITEUR
    st.session_state["jeton_session"] = jeton
    st.session_state["utilisateur"] = etat.utilisateur
    return etat.utilisateur


def connecter(utilisateur: Utilisateur) -> None:
    """Ouvre une session persistante pour un utilisateur authentifié (rotation : l'ancien jeton est révoqué)."""
    ancien = st.session_state.get("jeton_session") or lire_cookie_session()
    jeton = ouvrir_session(obtenir_magasin(), utilisateur, agent=st.context.headers.get("User-Agent"),
                           ancien_jeton=ancien)
    st.session_state.update(jeton_session=jeton, utilisateur=utilisateur, cookie_session=jeton)
    st.session_state.pop("_session_execution", None)
    st.session_state.pop("message_session", None)


def deconnecter(tous_appareils: bool = False) -> None:
    """Ferme la session : jeton révoqué dans le magasin (tous les onglets qui le portent), cookie effacé ;
    ``tous_appareils`` : toutes les sessions du compte."""
    jeton = _jeton_presente()
    utilisateur = utilisateur_courant()
    if tous_appareils and not est_public(utilisateur):
        fermer_sessions_compte(obtenir_magasin(), utilisateur.email)
    elif jeton:
        fermer_session(obtenir_magasin(), jeton)
    for cle in ("utilisateur", "jeton_session", "_session_execution"):
        st.session_state.pop(cle, None)
    st.session_state["jeton_refuse"] = lire_cookie_session()
    st.session_state["cookie_session"] = None
    if oidc_configure() and st.user.is_logged_in:
        st.logout()  # sinon l'identité ProConnect rouvrirait aussitôt une session


def lister_mes_sessions() -> list[dict]:
    """Sessions ouvertes de l'utilisateur connecté, la courante marquée (jamais le jeton) ; [] pour le public."""
    utilisateur = utilisateur_courant()
    return [] if est_public(utilisateur) else lister_sessions(obtenir_magasin(), utilisateur.email, _jeton_presente())


def fermer_mes_autres_sessions() -> int:
    """Ferme les autres sessions de l'utilisateur connecté (autres navigateurs, postes) et garde celle-ci."""
    utilisateur = utilisateur_courant()
    return 0 if est_public(utilisateur) else fermer_autres_sessions(obtenir_magasin(), utilisateur.email,
                                                                    _jeton_presente())


def ecrire_cookie_session() -> None:
    """Pose (ou efface) le cookie de session dans le navigateur après une connexion ou une déconnexion.

    Streamlit ne sait pas émettre d'en-tête ``Set-Cookie`` depuis une page : le cookie est écrit par un court
    script (``st.html``), donc lisible par le JavaScript de la page (pas ``HttpOnly``). Attributs :
    ``SameSite=Strict``, ``Path=/``, ``Secure`` sous HTTPS, durée = durée absolue de la session. Le jeton ne
    passe jamais dans l'URL.
    """
    if "cookie_session" not in st.session_state:
        return
    script = construire_script_cookie(st.session_state.pop("cookie_session"))
    with st.sidebar:  # dans la barre latérale : la page ne bouge pas (même repliée, elle est rendue)
        st.html(script, unsafe_allow_javascript=True)


def construire_script_cookie(jeton: str | None) -> str:
    """Script qui pose le cookie de session (``jeton``) ou l'efface (``None``) : ``SameSite=Strict``, ``Path=/``,
    ``Secure`` sous HTTPS, durée de vie = durée absolue de la session."""
    valeur, duree = (jeton, lire_duree_cookie_secondes()) if jeton else ("", 0)
    nom = nommer_cookie_session()
    return (f"<script>document.cookie = {json.dumps(nom + '=' + valeur)} + '; Max-Age={duree}; Path=/;"
            " SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');</script>")


def oidc_configure() -> bool:
    """Vrai si la connexion OIDC (ProConnect, ``st.login``) est configurée : section ``[auth]`` de
    ``.streamlit/secrets.toml`` et Authlib installé (``pip install "streamlit[auth]"``)."""
    try:
        configuree = "client_id" in st.secrets.get("auth", {})
    except StreamlitSecretNotFoundError:
        return False
    return configuree and importlib.util.find_spec("authlib") is not None


def _connecter_par_oidc() -> Utilisateur:
    """Identité attestée par le fournisseur OIDC → compte local actif (rôle, communes) → session Désimper."""
    try:
        utilisateur = associer_compte_oidc(obtenir_magasin(), st.user.get("email"))
    except ErreurAuthentification:
        st.session_state["message_session"] = ("Aucun compte Désimper actif pour cette adresse : demandez-en un "
                                               "à l'administrateur du syndicat de bassin.")
        st.logout()
        return VISITEUR
    connecter(utilisateur)
    return utilisateur


def couts_visibles() -> bool:
    """Vrai si l'utilisateur voit coûts et aides (pas la vue publique, CONCEPTION §6), selon les droits."""
    return peut(utilisateur_courant(), "lire_details")


MESSAGE_COUTS_RESERVES = ("Coûts et aides ne sont pas publics : ils sont réservés aux financeurs, aux communes et au "
                          "syndicat de bassin (page Connexion).")


def cle_utilisateur() -> tuple:
    """Petite clé des droits de lecture (rôle, communes) : les caches en dépendent."""
    utilisateur = utilisateur_courant()
    return utilisateur.role, tuple(sorted(utilisateur.communes))


def _utilisateur_de_cle(cle: tuple) -> Utilisateur:
    role, communes = cle
    return Utilisateur("", "", role, frozenset(communes))


def revision_lecture() -> tuple:
    """Révision du magasin et droits de lecture : clé des tableaux d'indicateurs mis en cache."""
    return revision_magasin(), cle_utilisateur()


def cle_donnees_affichees() -> tuple:
    """Petite clé de tout ce dont dépend une carte ou un tableau affiché : magasin (révision), droits de lecture
    (rôle, communes), couches du référentiel et description du territoire (paramètres des modèles) ; clé des
    cartes mises en cache par :func:`pages.vues_en_cache.afficher_carte`."""
    dossier = dossier_donnees()
    couches = tuple(_signature(chemin_couche(nom, dossier)) for nom in ("communes_affichage", "parcelles"))
    return (str(dossier), url_base(), revision_lecture(), _signatures_referentiel(), couches,
            _signature(chemin_territoire(dossier)))


@st.cache_data(show_spinner=False, max_entries=16)
def _operations_visibles(url: str, revision: tuple, cle: tuple):
    return filtrer_selon_droits(_utilisateur_de_cle(cle), _charger_operations(url, revision))


@st.cache_data(show_spinner=False, max_entries=16)
def _zones_visibles(url: str, revision: tuple, cle: tuple):
    zones = _charger_zones(url, revision)
    return zones[zones["operation_id"].isin(_operations_visibles(url, revision, cle)["id"]).to_numpy(bool)]


@st.cache_data(show_spinner=False, max_entries=16)
def _financements_visibles(url: str, revision: tuple, cle: tuple):
    return filtrer_financements(_utilisateur_de_cle(cle), _charger_financements(url, revision),
                                _operations_visibles(url, revision, cle))


def charger_financements():
    """Financements que l'utilisateur a le droit de voir (aucun pour le public)."""
    return _financements_visibles(url_base(), revision_magasin(), cle_utilisateur())


def charger_operations():
    """Opérations visibles par l'utilisateur (public : validées, sans données personnelles ni coûts)."""
    return _operations_visibles(url_base(), revision_magasin(), cle_utilisateur())


def charger_zones():
    """Zones des opérations visibles par l'utilisateur (GeoDataFrame WGS84)."""
    return _zones_visibles(url_base(), revision_magasin(), cle_utilisateur())


@st.cache_data(show_spinner=False, max_entries=8)
def _charger_photos(url: str, revision: tuple):
    return obtenir_magasin().lire_photos()


def charger_photos(operation_id: int | None = None):
    """Photos des opérations non supprimées (toutes, ou celles d'une opération), lues une fois par révision du
    magasin pour tout le processus : n'en montrer que pour des opérations visibles par l'utilisateur."""
    photos = _charger_photos(url_base(), revision_magasin())
    if operation_id is None:
        return photos
    return photos[photos["operation_id"].eq(int(operation_id)).to_numpy(bool)].reset_index(drop=True)


def charger_registre_complet():
    """Registre entier, pour les calculs internes qui n'affichent rien de personnel (ex. parcelles déjà
    traitées dans les priorités)."""
    return _charger_operations(url_base(), revision_magasin())


def verifier_donnees_pretes() -> dict | None:
    """Territoire chargé et magasin joignable ; sinon affiche un message en français et renvoie None."""
    territoire = None
    try:
        territoire = charger_territoire()
        charger_couche("communes_affichage")
        revision_magasin()  # magasin joignable (la révision est gardée pour l'exécution)
    except ErreurPanne as panne:  # disque, droits, base injoignable : la page se remet quand la panne cesse
        afficher_panne(panne)
        return None
    except ErreurDonnees as exc:
        st.error(f"**Données indisponibles.** {exc}")
        if territoire is not None and not territoire.get("demo"):
            st.info(f"Territoire « {echapper_markdown(territoire['nom'])} » initialisé : importez ses communes "
                    "(`desimper importer communes`, ou `--depuis FICHIER` hors ligne), puis rechargez la page.")
        else:
            st.info("Pour préparer le territoire de démonstration : `desimper demo` (ou `make demo`), "
                    "puis rechargez la page.")
        return None
    except Exception as exc:  # base injoignable, fichier corrompu… : consigné, message à l'utilisateur
        journal.exception("Données indisponibles (dossier %s)", dossier_donnees())
        panne = traduire_panne(exc, f"le dossier de données {dossier_donnees()}", "lecture")
        if panne is not None:
            afficher_panne(panne)
            return None
        st.error(f"**Données indisponibles** ({type(exc).__name__}). Vérifiez le dossier de données "
                 f"({dossier_donnees()}) et la base, par exemple avec `desimper verifier`.")
        return None
    return territoire


def afficher_panne(panne: ErreurPanne) -> None:
    """Message français d'une panne (disque plein, lecture seule, base indisponible), sans trace Python ; la
    page se remet d'elle-même à la prochaine action une fois la panne passée."""
    journal.warning("Panne (%s) : %s", panne.genre, panne.__cause__ or panne)
    st.error(f"**Service momentanément indisponible.** {panne}", icon=":material/cloud_off:")
    st.button("Réessayer", icon=":material/refresh:", key="reessayer_apres_panne")  # un clic relance la page


@contextmanager
def signaler_pannes():
    """``with commun.signaler_pannes():`` : une panne survenue dans le bloc (base arrêtée, disque plein pendant
    les filtres ou la page) s'affiche en français (:func:`afficher_panne`) au lieu d'une trace Python."""
    try:
        yield
    except ErreurPanne as panne:
        afficher_panne(panne)


def _texte_css(texte: str) -> str:
    """Chaîne CSS (propriété ``content``) : guillemets et barres obliques inverses échappés."""
    return '"' + texte.replace("\\", "\\\\").replace('"', '\\"') + '"'


def limite_televersement() -> str:
    """Taille maximale d'un fichier téléversé, lue dans le réglage ``server.maxUploadSize`` (« 50 Mo »)."""
    return formater_nombre(st.get_option("server.maxUploadSize"), 0, "Mo")


def _feuille_de_style() -> str:
    """Feuille de style française : téléverseur (textes anglais de Streamlit masqués, texte et limite en
    français, la limite lue dans le réglage ``server.maxUploadSize``), infobulles de la barre d'outils plotly."""
    from donnees.photos import TAILLE_MAX_OCTETS
    from vues.figures import TITRES_BOUTONS_PLOTLY

    limite = limite_televersement()
    limite_photos = formater_nombre(TAILLE_MAX_OCTETS / 2**20, 0, "Mo")
    zone = "[data-testid='stFileUploaderDropzone']"
    consignes = f"{zone} [data-testid='stFileUploaderDropzoneInstructions']"
    regles = [
        f"{consignes} > * {{ display: none; }}",
        f"{consignes}::before {{ content: "
        f"{_texte_css(f'Glissez-déposez un fichier ici · {limite} au plus par fichier')}; "
        "font-size: 0.875rem; color: rgba(49, 51, 63, 0.7); }",
        f".st-key-saisie_photos {consignes}::before {{ content: "
        f"{_texte_css(f'Glissez-déposez vos photos ici · {limite_photos} au plus par photo')}; }}",
        f"{zone} button:not([data-testid='stBaseButton-minimal']) p {{ display: none; }}",
        f"{zone} button:not([data-testid='stBaseButton-minimal'])::after {{ content: {_texte_css('Parcourir')}; }}",
        # fichier déposé : taille écrite à l'anglaise (« 53.5MB ») masquée ; fichier refusé par le navigateur
        # (trop gros, format non accepté) : la raison en français, sous son nom et dans l'infobulle
        "[data-testid='stFileChipName'] + div { display: none; }",
        "[data-testid='stFileChip'][aria-invalid='true'] [data-testid='stFileChipName']::after { display: block; "
        f"content: {_texte_css(f'Refusé : plus de {limite} ou format non accepté')}; font-size: 0.75rem; "
        "white-space: normal; }",
        # champ de date : repères de saisie « jj / mm / aaaa » (Streamlit écrit « dd / mm / yyyy »)
        *[f"[data-testid='stDateInputField'] [role='spinbutton'][data-placeholder='true'][data-type='{champ}'] "
          f"{{ font-size: 0; }} [data-testid='stDateInputField'] [role='spinbutton'][data-placeholder='true']"
          f"[data-type='{champ}']::before {{ content: {_texte_css(repere)}; font-size: 1rem; }}"
          for champ, repere in (("day", "jj"), ("month", "mm"), ("year", "aaaa"))],
        # consigne de saisie en anglais (« Press Enter to apply », « Press Ctrl+Enter to submit form ») : masquée
        "[data-testid='InputInstructions'] { display: none; }",
        # lien d'évitement (visible au clavier) : « Skip to main content » écrit en français
        "[data-testid='stSkipToContent'], [data-testid='stSkipToContent']:focus { font-size: 0 !important; }",
        f"[data-testid='stSkipToContent']::after {{ content: {_texte_css('Aller au contenu principal')}; "
        "font-size: 1rem !important; }",
        "[data-testid='stTooltipErrorContent'] { font-size: 0; }",
        f"[data-testid='stTooltipErrorContent']::before {{ font-size: 0.875rem; content: "
        f"{_texte_css(f'Fichier refusé : {limite} au plus, dans un des formats indiqués.')}; }}",
    ]
    regles += [f".js-plotly-plot .plotly [data-title={_texte_css(anglais)}]::after "
               f"{{ content: {_texte_css(francais)}; }}" for anglais, francais in TITRES_BOUTONS_PLOTLY.items()]
    return "<style>\n" + "\n".join(regles) + "\n</style>"


def injecter_styles() -> None:
    """Ajoute la feuille de style française à la page (appelée une fois par exécution, par la barre latérale)."""
    st.html(_feuille_de_style())


def afficher_barre_laterale(territoire: dict | None) -> None:
    """Barre latérale commune à toutes les pages : territoire et badge « démonstration »."""
    injecter_styles()
    with st.sidebar:
        st.markdown("### Désimper")
        afficher_choix_territoire()
        if territoire:
            st.markdown(f"**{echapper_markdown(territoire['nom'])}**  \n{len(territoire['codes_insee'])} communes")
            utilisateur = utilisateur_courant()
            if est_public(utilisateur):
                st.caption("Vue publique : opérations validées, sans coûts ni données personnelles.")
            else:
                st.caption(f"Connecté : {echapper_markdown(utilisateur.nom)} "
                           f"({ROLES.get(utilisateur.role, utilisateur.role)})")
            if territoire.get("demo"):
                st.warning("Données de démonstration : communes réelles, parcelles et opérations synthétiques.",
                           icon=":material/science:")
        if not utiliser_actifs_locaux() and not st.session_state.get("_avertissement_cdn"):
            st.session_state["_avertissement_cdn"] = True
            st.caption(MESSAGE_CDN)


# ------------------------------------------------------------------------------------ indicateurs


@st.cache_data(show_spinner=False, max_entries=4)
def _surfaces_impermeables(dossier: str, signature: int):
    manquantes: list = []
    return calculer_surfaces_impermeables(Path(dossier), manquantes), tuple(manquantes)


def charger_surfaces_impermeables():
    """Surface imperméable de l'occupation du sol par commune (calculée commune par commune, gardée sur disque) ;
    une partition d'occupation absente est signalée, les autres communes sont comptées."""
    dossier = dossier_donnees()
    table, manquantes = _surfaces_impermeables(str(dossier), _signature(chemin_couche("occupation", dossier)))
    if manquantes:
        noms = ", ".join(nommer_commune(code) for code in manquantes[:10])
        st.warning(f"Occupation du sol illisible pour {len(manquantes)} commune(s) : {noms}. Leur surface "
                   "imperméable n'est pas comptée ; réimportez l'occupation de ces communes "
                   "(`desimper importer occupation`).", icon="⚠️")
    return table


def _signatures_referentiel() -> tuple:
    dossier = dossier_donnees()
    return tuple(_signature(chemin_couche(nom, dossier)) for nom in ("communes", "objectifs", "nouvelles_surfaces",
                                                                     "occupation"))


def parametres_territoire():
    """Paramètres de modèle en vigueur (défauts du projet surchargés par le territoire)."""
    return lire_parametres(charger_territoire().get("parametres"))


@st.cache_data(show_spinner=False, max_entries=2)
def _registre_modeles(url: str, revision: tuple):
    return lire_registre_modeles(obtenir_magasin(), dossier_donnees())


def charger_registre_modeles() -> tuple:
    """(opérations : ``id``, ``localisation_approximative`` ; zones des opérations validées) : ce que lisent les
    modèles sur grille et les sommes aux abords, sans le reste du registre. Partagé entre sessions."""
    return _registre_modeles(url_base(), revision_magasin())


@st.cache_resource(show_spinner=False, max_entries=2)
def _modeles(dossier: str, revision: tuple, signatures: tuple, _rappel=None):
    registre = _registre_modeles(url_base(), revision)  # zones des opérations validées seulement
    # État de la mise à jour incrémentale pas reconstruit en arrière-plan : ce recalcul complet disputait les
    # processeurs aux pages (première vue publique, saisie, parcours des pages sous charge) ; la première écriture
    # qui change les modèles après un redémarrage le fait elle-même.
    return calculer_modeles_territoire(Path(dossier), rappel=_rappel, registre=registre)


_MODELES_PRETS: set = set()  # clés de _modeles déjà calculées dans ce processus (pas d'encart à afficher)


def charger_modeles():
    """Modèles chaleur (3 scénarios) et eau sur grille, recalculés seulement si les entrées changent.

    Quand ils ne sont pas encore en mémoire, un encart dit l'étape en cours (lecture de l'occupation du sol,
    modèle de chaleur…) puis disparaît."""
    dossier = dossier_donnees()
    if not chemin_couche("occupation", dossier).exists():
        return None  # territoire réel sans occupation du sol importée : pas de modèle chaleur ni eau
    cle = (str(dossier), revision_magasin(), (*_signatures_referentiel(), _signature(chemin_territoire(dossier))))
    if cle in _MODELES_PRETS:
        modeles = _modeles(*cle)
    else:
        encart = st.empty()
        try:
            with encart.status("Modèles chaleur et eau : préparation…") as statut:
                modeles = _modeles(*cle, _rappel=lambda etape: statut.update(label=etape))
        except ErreurDonnees as exc:  # partition d'occupation absente… : les pages restent, sans les modèles
            encart.empty()
            st.warning(f"Modèles chaleur et eau indisponibles : {exc}", icon="⚠️")
            return None
        encart.empty()
        _MODELES_PRETS.add(cle)
    return modeles


@st.cache_data(show_spinner=False, max_entries=16)
def _agregats_visibles(url: str, revision: tuple, cle: tuple, signature_territoire: int):
    return lire_agregats(obtenir_magasin(), _utilisateur_de_cle(cle), parametres_territoire())


def charger_agregats():
    """Agrégats du registre que l'utilisateur peut lire (:func:`services.magasin.lire_agregats` : sommes par
    commune, année, statut, type de site et validation calculées par la base, droits appliqués dans la
    requête) : ce que lisent la Vue d'ensemble et les indicateurs, sans charger chaque opération."""
    return _agregats_visibles(url_base(), revision_magasin(), cle_utilisateur(),
                              _signature(chemin_territoire(dossier_donnees())))


@st.cache_data(show_spinner=False, max_entries=64)
def _indicateurs_communes(url: str, revision: tuple, signatures: tuple, filtres: Filtres):
    referentiel = indicateurs.ReferentielIndicateurs(
        charger_couche("communes"), charger_surfaces_impermeables(), charger_couche("objectifs"),
        charger_couche("nouvelles_surfaces"))
    modeles = charger_modeles()
    return indicateurs.assembler_indicateurs_communes(
        charger_agregats(), None, None, referentiel, parametres_territoire(), filtres, modeles,
        registre_modeles=charger_registre_modeles() if modeles is not None else None)


def calculer_communes(filtres: Filtres):
    """Indicateurs par commune + ligne ``bassin`` pour les filtres donnés (mis en cache)."""
    return _indicateurs_communes(url_base(), revision_lecture(), _signatures_referentiel(), filtres)


@st.cache_data(show_spinner=False, max_entries=64)
def _indicateurs_annees(url: str, revision: tuple, signatures: tuple, filtres: Filtres):
    return calculer_indicateurs_annees(
        charger_agregats(), None, None, charger_couche("communes"),
        charger_couche("objectifs"), charger_couche("nouvelles_surfaces"), parametres_territoire(), filtres)


def calculer_annees(filtres: Filtres):
    """Indicateurs par territoire et par année pour les filtres donnés (mis en cache)."""
    return _indicateurs_annees(url_base(), revision_lecture(), _signatures_referentiel(), filtres)


@st.cache_data(show_spinner=False, max_entries=64)
def _indicateurs_operations(url: str, revision: tuple, filtres: Filtres):
    # Colonne « commune » (nom) à côté du code INSEE : tableaux et exports la reprennent.
    return exports.ajouter_colonne_commune(calculer_indicateurs_operations(
        charger_operations(), charger_zones(), charger_financements(), parametres_territoire(), filtres),
        noms_communes())


@st.cache_data(show_spinner=False, max_entries=64)
def _indicateurs_groupes(url: str, revision: tuple, filtres: Filtres, cle: str):
    return calculer_indicateurs_groupes(charger_agregats(), None, None, cle, parametres_territoire(), filtres)


def calculer_groupes(filtres: Filtres, cle: str):
    """Indicateurs regroupés par ``cle`` (ex. ``type_site``) pour les filtres donnés (mis en cache)."""
    return _indicateurs_groupes(url_base(), revision_lecture(), filtres, cle)


@st.cache_data(show_spinner=False, max_entries=32)
def _exporter_operations(url: str, revision: tuple, filtres: Filtres, format_fichier: str) -> bytes:
    operations = filtrer_operations(charger_operations(), filtres)  # géométries et champs exportés
    return exports.exporter_operations(calculer_operations(filtres), operations, format_fichier, noms_communes())


def exporter_operations(filtres: Filtres, format_fichier: str) -> bytes:
    """Tableau des opérations retenues (indicateurs compris) au format demandé, mis en cache."""
    return _exporter_operations(url_base(), revision_lecture(), filtres, format_fichier)


def calculer_operations(filtres: Filtres):
    """Indicateurs par opération retenue par les filtres (mis en cache)."""
    return _indicateurs_operations(url_base(), revision_lecture(), filtres)


# ------------------------------------------------------------------------------------ filtres


@st.cache_data(show_spinner=False, max_entries=16)
def _annees_visibles(url: str, revision: tuple) -> list[int]:
    annees = charger_agregats().operations["annee"].dropna().astype(int)
    return list(range(int(annees.min()), int(annees.max()) + 1)) if len(annees) else []


def _annees_disponibles() -> list[int]:
    """Années de fin des travaux des opérations visibles (mises en cache par révision et droits de lecture)."""
    return _annees_visibles(url_base(), revision_lecture())


def afficher_filtres(territoire: dict) -> None:
    """Filtres partagés par toutes les pages, dans la barre latérale (état gardé d'une page à l'autre)."""
    communes = charger_couche("communes_affichage")
    noms = dict(zip(communes["code_insee"], communes["nom"]))
    types = lire_types_site()
    annees = _annees_disponibles()
    with st.sidebar:
        st.markdown("#### Filtres")
        if len(annees) > 1:
            st.slider("Années (fin des travaux)", annees[0], annees[-1], (annees[0], annees[-1]),
                      key="filtre_annees")
        st.multiselect("Types de site", list(types), format_func=types.get, key="filtre_types",
                       placeholder="Tous les types")
        st.pills("Statut", list(STATUTS), format_func=STATUTS.get, selection_mode="multi",
                 default=list(indicateurs.STATUTS_REALISES), key="filtre_statuts",
                 help="Par défaut, les chiffres comptent les opérations réalisées (travaux terminés) ; en "
                      "travaux et programmées sont une projection, montrée à part.")
        if lire_perimetre(utilisateur_courant(), "lire_non_validees") != frozenset():  # sinon : validées seules
            st.pills("Validation", list(VALIDATIONS), format_func=VALIDATIONS.get, selection_mode="multi",
                     default=list(VALIDATIONS), key="filtre_validations")
        st.multiselect("Communes", sorted(noms, key=noms.get), format_func=noms.get, key="filtre_communes",
                       placeholder="Toutes les communes")


def lire_filtres() -> Filtres:
    """Filtres courants, lus dans l'état de session (par défaut : opérations réalisées, sans autre
    restriction)."""
    etat = st.session_state
    annees = etat.get("filtre_annees")
    disponibles = _annees_disponibles()
    plage = None
    if annees and disponibles and (annees[0] > disponibles[0] or annees[1] < disponibles[-1]):
        plage = tuple(range(int(annees[0]), int(annees[1]) + 1))
    statuts = etat.get("filtre_statuts")
    validations = etat.get("filtre_validations")
    if lire_perimetre(utilisateur_courant(), "lire_non_validees") == frozenset():
        validations = None  # filtre non proposé : le public ne lit que des opérations validées
    return Filtres(
        annees=plage,
        types=tuple(etat.get("filtre_types") or ()) or None,
        statuts=(indicateurs.STATUTS_REALISES if statuts is None
                 else None if set(statuts) == set(STATUTS) else tuple(statuts)),
        validations=None if validations is None or set(validations) == set(VALIDATIONS) else tuple(validations),
        communes=tuple(etat.get("filtre_communes") or ()) or None,
    )


def choisir_perimetre(filtres: Filtres, cle: str) -> indicateurs.Perimetre:
    """Périmètre commun aux cartes de chiffres d'une page, selon ce que ``donnees.droits`` laisse lire.

    Lecture des détails partout (financeur, administrateur) : tout le bassin, coûts compris ; public : le
    bassin, opérations validées, sans coûts ; lecture des détails dans quelques communes (référent) : choix
    « bassin » (chiffres publics : validées, sans coûts) ou « vos communes » (tous les chiffres).
    """
    from donnees.droits import lire_perimetre

    territoire = charger_territoire()
    communes = charger_couche("communes_affichage")
    # Lieu et légende passent dans du Markdown (légendes, infobulles) : noms saisis échappés.
    noms = {code: echapper_markdown(nom) for code, nom in zip(communes["code_insee"], communes["nom"])}
    nom_territoire = echapper_markdown(territoire["nom"])
    utilisateur = utilisateur_courant()
    detaillees = lire_perimetre(utilisateur, "lire_details")
    vos_communes = False
    if detaillees is None:
        details, validees = True, False
    elif not detaillees:
        details, validees = False, True
    else:
        choix = st.segmented_control(
            "Périmètre des chiffres", ["communes", "bassin"], default="communes", key=cle,
            format_func={"communes": "Vos communes", "bassin": nom_territoire}.get) or "communes"
        vos_communes = choix == "communes"
        details, validees = vos_communes, not vos_communes
        if vos_communes:
            codes = sorted(detaillees & set(filtres.communes)) if filtres.communes else sorted(detaillees)
            filtres = Filtres(**{**filtres.__dict__, "communes": tuple(codes)})
        else:
            garde = filtres.validations is None or "validee" in filtres.validations
            filtres = Filtres(**{**filtres.__dict__, "validations": ("validee",) if garde else ()})
    lieu = indicateurs.nommer_lieu(nom_territoire, filtres.communes, noms, vos_communes)
    legende = indicateurs.decrire_perimetre(lieu, filtres, validees, lire_types_site())
    return indicateurs.Perimetre(filtres, details, lieu, legende)


def decrire_perimetre_commune(code: str, nom: str, filtres: Filtres) -> str:
    """Légende du périmètre des chiffres d'une commune : validées seulement si l'utilisateur ne peut pas lire
    les opérations non validées de cette commune (``donnees.droits``)."""
    validees = not peut(utilisateur_courant(), "lire_non_validees", code_insee=code, noms_communes={})
    return indicateurs.decrire_perimetre(echapper_markdown(nom), filtres, validees, lire_types_site())


def filtrer_operations(operations, filtres: Filtres):
    """Opérations retenues par les filtres (même règle que les indicateurs)."""
    return operations.loc[masque_filtres(operations, filtres)]


# ------------------------------------------------------------------------------------ widgets


HAUTEUR_LIGNE_TABLEAU_PX = 35  # lignes et en-tête des tableaux de Streamlit (glide-data-grid)
CHOISIR = "Choisir…"  # invite des listes à choix multiple vides (Streamlit écrit « Choose options »)
NOMBRE_MAX_LISTE_DEPLIEE = 3  # au-delà, une liste d'opérations (ex. « à corriger » sur Connexion) est repliée


def hauteur_tableau(nombre_lignes: int, maximum: int | None = None) -> int:
    """Hauteur (px) d'un ``st.dataframe`` montrant ses ``nombre_lignes`` lignes sans barre de défilement, bornée par
    ``maximum`` (défilement au-delà)."""
    hauteur = HAUTEUR_LIGNE_TABLEAU_PX * (nombre_lignes + 1) + 3
    return hauteur if maximum is None else min(maximum, hauteur)


COLONNES_ANNEES = {"annee", "Année", "Annee", "année"}
COLONNES_CLES = ("Nom", "Commune", "Territoire", "Couche", "Parcelle")  # épinglée : la première présente
CHIFFRE_CLE = "surface_desimpermeabilisee"  # code du catalogue : sa colonne reste en vue dans les tableaux larges


def configurer_colonnes(table, cle=None) -> dict:
    """Configuration des colonnes d'un tableau : nombres au format du navigateur (français : 12 345,6), années
    sans séparateur (« 2018 »), colonnes clés épinglées à gauche : ``cle`` (un nom ou une liste), sinon le nom
    (« Nom », « Commune »… ou la première colonne de texte) et le chiffre clé (surface désimperméabilisée) ; elles
    restent en vue quand on fait défiler un tableau large."""
    import pandas as pd

    configuration = {}
    for colonne in table.columns:
        serie = table[colonne]
        if str(colonne) in COLONNES_ANNEES or str(colonne).lower().startswith("année"):
            configuration[colonne] = st.column_config.NumberColumn(format="%d") \
                if pd.api.types.is_numeric_dtype(serie) else st.column_config.TextColumn()
        elif pd.api.types.is_numeric_dtype(serie) and not pd.api.types.is_bool_dtype(serie):
            configuration[colonne] = st.column_config.NumberColumn(format="localized")
    if cle is None:
        preferees = [c for c in COLONNES_CLES if c in table.columns]
        texte = [c for c in table.columns if table[c].dtype == object and c not in configuration]
        cle = [*(preferees or texte)[:1], *[c for c in (titre_axe(CHIFFRE_CLE),) if c in table.columns]]
    epinglees = [c for c in ([cle] if isinstance(cle, str) else cle) if c in table.columns]
    for colonne in epinglees:
        base = configuration.get(colonne) or st.column_config.Column()
        base["pinned"] = True
        if len(epinglees) > 1:  # sur un téléphone (390 px), les colonnes épinglées tiennent ensemble à l'écran
            base["width"] = "small" if pd.api.types.is_numeric_dtype(table[colonne]) else "medium"
        configuration[colonne] = base
    return configuration


def nettoyer_vides(table):
    """Copie où les cellules vides (None, NaN, NaT) d'une colonne de texte sont « — » : jamais « None »."""
    import pandas as pd

    table = table.copy()
    for colonne in table.columns:
        if table[colonne].dtype == object or isinstance(table[colonne].dtype, pd.StringDtype):
            table[colonne] = table[colonne].astype(object).where(table[colonne].notna(), "—")
    return table


def afficher_tableau(table, hauteur: int | None = None, cle=None) -> None:
    """Tableau aux nombres au format du navigateur (français : 12 345,6), sans index, années « 2018 », colonne
    clé épinglée (``cle``, ou la première colonne de texte : le nom reste en vue quand on fait défiler)."""
    options = {"height": hauteur} if hauteur else {}
    st.dataframe(nettoyer_vides(table), hide_index=True, width="stretch",
                 column_config=configurer_colonnes(table, cle), **options)


def telecharger(libelle: str, donnees, nom_fichier: str, mime: str, **options) -> None:
    """Bouton de téléchargement qui ne relance pas la page (deux clics à la suite : deux fichiers)."""
    st.download_button(libelle, donnees, nom_fichier, mime=mime, on_click="ignore", **options)


def afficher_graphique(figure, donnees, nom_fichier: str, guide: str, cle: str) -> None:
    """Figure plotly habillée en français + guide de lecture d'une ligne + téléchargement des données (CSV pour
    Excel).

    L'image PNG se télécharge avec l'icône « appareil photo » de la figure.
    """
    from pages.vues_en_cache import est_partagee

    figure = figure if est_partagee(figure) else habiller_figure(figure)  # partagée : déjà habillée
    st.plotly_chart(figure, width="stretch", config=configurer_export(nom_fichier), key=f"figure_{cle}")
    st.caption(f"{guide} — Image : icône appareil photo de la figure.")
    telecharger("Télécharger les données (CSV)", _exporter_csv(donnees), f"{nom_fichier}.csv",
                TYPES_MIME["csv"], key=f"csv_{cle}", icon=":material/download:")


@st.cache_data(show_spinner=False, max_entries=256)
def _exporter_csv(donnees) -> bytes:
    """CSV (Excel) d'une petite table de graphique, écrit une fois par contenu (table hachée par Streamlit)."""
    return exporter_table(donnees, "csv")


# ------------------------------------------------------------------------------------ communes


@st.cache_data(show_spinner=False, max_entries=32)
def _priorites_commune(dossier: str, signatures: tuple, revision: tuple, code: str):
    return priorites.obtenir_priorites_commune(code, Path(dossier), parametres_territoire(),
                                               charger_registre_complet())


def calculer_priorites_commune(code: str):
    """Priorités des parcelles d'une commune, ou None sans parcelle : lues dans le stockage par commune
    (`desimper priorites calculer`), sinon calculées pour cette seule commune et stockées ; gardées en mémoire
    par processus."""
    dossier = dossier_donnees()
    signatures = (*(_signature(chemin_couche(nom, dossier)) for nom in ("parcelles", "occupation", "communes")),
                  _signature(chemin_territoire(dossier)))  # paramètres du territoire
    return _priorites_commune(str(dossier), signatures, revision_magasin(), code)


@st.cache_data(show_spinner=False, max_entries=16)
def _potentiel_commune(dossier: str, signatures: tuple, revision: tuple, code: str):
    return potentiel.calculer_potentiel_commune(code, Path(dossier), modeles=charger_modeles())


COUCHES_CRITERES_STOCKEES = tuple(nom for nom in COUCHES_CRITERES if nom not in ("occupation", "chaleur"))


def _signatures_potentiel(dossier: Path) -> tuple:
    return (*(_signature(chemin_couche(nom, dossier)) for nom in ("parcelles", "occupation", "communes",
                                                                   *COUCHES_CRITERES_STOCKEES)),
            _signature(chemin_territoire(dossier)))  # règles du potentiel surchargées


def calculer_potentiel_commune(code: str):
    """Potentiel de désimperméabilisation des parcelles d'une commune (:mod:`services.potentiel`), ou None sans
    parcelle ; gardé par processus pour ces couches (dont les couches de critères), ce territoire et ce
    registre."""
    dossier = dossier_donnees()
    return _potentiel_commune(str(dossier), _signatures_potentiel(dossier), revision_magasin(), code)


@st.cache_data(show_spinner=False, max_entries=16)
def _potentiel_ilots(dossier: str, signatures: tuple, revision: tuple, code: str):
    return potentiel.calculer_potentiel_ilots(code, calculer_potentiel_commune(code), Path(dossier))


def calculer_potentiel_ilots(code: str):
    """Potentiel des îlots urbains d'une commune (:func:`services.potentiel.calculer_potentiel_ilots`,
    GeoDataFrame WGS84), ou None sans parcelle ; mêmes clés que :func:`calculer_potentiel_commune`."""
    dossier = dossier_donnees()
    return _potentiel_ilots(str(dossier), _signatures_potentiel(dossier), revision_magasin(), code)


def geometrer_parcelles(code: str, choisies):
    """Géométries des parcelles ``choisies`` (table avec ``id``) de la commune, jointes à leurs colonnes ; None
    s'il n'y en a pas."""
    if choisies is None or not len(choisies):
        return None
    parcelles = charger_parcelles_commune(code)
    return parcelles[parcelles["id"].isin(choisies["id"]).to_numpy(bool)][["id", "geometry"]].merge(choisies, on="id")


@st.cache_resource(show_spinner=False, max_entries=8)
def _parcelles_commune(dossier: str, signature: str, code: str):
    return priorites.lire_couche_communes("parcelles", Path(dossier), [code])


def charger_parcelles_commune(code: str):
    """Parcelles d'une seule commune (``id``, ``commune``, géométrie), lues sans charger la couche entière ;
    table partagée entre sessions : ne pas la modifier en place."""
    dossier = dossier_donnees()
    return _parcelles_commune(str(dossier), priorites.signer_couche_communes("parcelles", dossier, [code]), code)


@st.cache_data(show_spinner=False, max_entries=64)
def _aides(url: str, revision: tuple, filtres: Filtres):
    return indicateurs.calculer_aides(charger_agregats(), None, filtres)


def calculer_aides(filtres: Filtres):
    """Aides par financeur des opérations visibles retenues par les filtres (mis en cache par révision, droits
    de lecture et filtres)."""
    return _aides(url_base(), revision_lecture(), filtres)


def calculer_commune(code: str, filtres: Filtres) -> tuple:
    """(table par commune avec les ratios des villes pairs, ligne de la commune ``code``, ligne du bassin)."""
    table = indicateurs.ajouter_ratios(calculer_communes(filtres), charger_couche("communes"))
    return (table, *indicateurs.extraire_commune(table, code))


def noms_communes() -> dict[str, str]:
    """Nom de chaque commune du territoire par code INSEE (:func:`donnees.droits.lire_noms_communes`, en cache
    tant que la couche ne change pas)."""
    return lire_noms_communes()


def nommer_commune(code) -> str:
    """« Sète (34301) » : nom de la commune à côté de son code INSEE (le code seul s'il est inconnu)."""
    return nommer_code_commune(str(code), noms_communes())


def nommer_communes(codes) -> str:
    """Communes nommées « Sète (34301), Mèze (34157) », triées par nom ; « — » s'il n'y en a aucune."""
    if codes is None or isinstance(codes, float):
        return "—"
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",") if c.strip()]
    noms = noms_communes()
    return ", ".join(nommer_commune(c) for c in sorted(codes, key=lambda c: noms.get(str(c), str(c)))) or "—"


def lire_identifiant_url(nom: str = "id") -> int | None:
    """Identifiant entier lu dans l'URL (``?id=12``) ; ``None`` s'il manque ou n'est pas un entier écrit en
    chiffres ASCII (au plus 12) : « ² », « ١٢ » ou 20 000 chiffres ne font pas planter la page."""
    valeur = st.query_params.get(nom)
    if valeur and valeur.isascii() and valeur.isdigit() and len(valeur) <= 12:
        return int(valeur)
    return None


def choisir_commune(cle: str = "commune_choisie") -> str:
    """Sélecteur de commune partagé (gardé dans l'URL ``?code=`` et dans l'état de session) ; à la première
    ouverture, la commune de l'utilisateur (référent : la première de ses communes par ordre alphabétique)."""
    communes = charger_couche("communes_affichage")
    noms = dict(zip(communes["code_insee"], communes["nom"]))
    codes = sorted(noms, key=noms.get)
    siennes = lire_perimetre(utilisateur_courant(), "modifier") or frozenset()  # None : pas de commune à soi
    demande = st.query_params.get("code") or st.session_state.get(cle) or next(
        (c for c in codes if c in siennes), None)
    index = codes.index(demande) if demande in codes else 0
    code = st.selectbox("Commune", codes, index=index, format_func=nommer_commune)
    st.session_state[cle] = code
    if st.query_params.get("code") != code:
        st.query_params["code"] = code
    return code


# ------------------------------------------------------------------------------------ cartes


@st.cache_resource(show_spinner="Préparation des parcelles et bâtiments de la commune…", max_entries=4)
def _contours_commune(dossier: str, signatures: tuple, code: str):
    reglages = lire_fonds_carte()["surimpression"]
    return referentiel.preparer_contours_commune(
        code, charger_couche("communes"), charger_couche_commune("parcelles", code),
        charger_couche_commune("batiments", code), charger_couche_commune("occupation", code),
        reglages["tolerance_m"], reglages["precision_degres"])


@st.cache_data(show_spinner=False, max_entries=32)
def _contours_geojson(dossier: str, signatures: tuple, code: str, fenetre: tuple | None) -> dict[str, str]:
    contours = _contours_commune(dossier, signatures, code)
    if fenetre is not None:
        contours = referentiel.selectionner_fenetre(contours, fenetre)
    return convertir_contours_geojson(contours.parcelles, contours.batiments)


def charger_contours_saisie(code: str, vue: dict | None = None) -> tuple[dict[str, str] | None, str, str]:
    """Parcelles et bâtiments de la commune ``code`` pour la carte de saisie (GeoJSON WGS84 simplifié, mis en
    cache par commune et par emprise) : ``(geojson ou None, mode, source des bâtiments)`` ; ``mode`` :
    ``commune`` (tout), ``emprise`` (autour de ``vue``, commune trop lourde) ou ``rien`` (vue trop large)."""
    dossier = dossier_donnees()
    signatures = referentiel.signer_couches(dossier, "communes", "parcelles", "batiments", "occupation")
    contours = _contours_commune(str(dossier), signatures, code)
    mode, fenetre = referentiel.choisir_envoi_contours(contours, vue, lire_fonds_carte()["surimpression"])
    geojson = None if mode == "rien" else _contours_geojson(str(dossier), signatures, code, fenetre)
    return geojson, mode, contours.source_batiments




SCENARIOS_CHALEUR = {"sans_operations": "Sans opérations", "realisees": "Opérations réalisées",
                     "realisees_programmees": "Réalisées + programmées"}


@st.cache_data(show_spinner=False, max_entries=6)
def _image_chaleur(dossier: str, revision: tuple, signatures: tuple, scenario: str):
    modeles = charger_modeles()
    chaleur = modeles.chaleur
    parametres = chaleur.parametres
    palette = lire_styles()["chaleur"]
    minimum, maximum = parametres.t_ref_c, parametres.t_ref_c + parametres.uhi_max_c
    uri, bornes = grille_en_png(chaleur.t_air[scenario], chaleur.grille.transform, chaleur.grille.crs, palette,
                                minimum, maximum)
    return {"uri": uri, "bornes": bornes, "titre": f"Température de l'air (°C) — {SCENARIOS_CHALEUR[scenario]}",
            "legende": legender_rampe(palette, minimum, maximum, 1, "°C")}


def image_chaleur(scenario: str) -> dict:
    """Image de T_air d'un scénario (PNG WGS84 + bornes + légende), mise en cache."""
    dossier = dossier_donnees()
    signatures = (*_signatures_referentiel(), _signature(chemin_territoire(dossier)))
    return _image_chaleur(str(dossier), revision_magasin(), signatures, scenario)


@st.cache_resource(show_spinner=False, max_entries=16)
def _points_operations(url: str, revision: tuple, filtres: Filtres):
    surfaces = calculer_operations(filtres).set_index("operation_id")["surface_desimpermeabilisee"]
    return preparer_points_operations(filtrer_operations(charger_operations(), filtres), surfaces)


def charger_points_operations(filtres: Filtres):
    """Un point par opération visible et retenue par les filtres (propriétés minimales, les plus grandes
    d'abord), calculé une fois par révision, droits et filtres pour tout le processus : ne pas le modifier."""
    return _points_operations(url_base(), revision_lecture(), filtres)


def charger_agregats_operations(filtres: Filtres):
    """Nombre d'opérations et surface désimperméabilisée par commune (cercles des cartes à faible zoom), lus dans
    les indicateurs par commune (agrégats de la base, droits appliqués) : aucune opération chargée une à une."""
    return _agregats_operations(url_base(), revision_lecture(), _signatures_referentiel(),
                                _signature(chemin_couche("communes_affichage", dossier_donnees())), filtres)


@st.cache_data(show_spinner=False, max_entries=16)
def _agregats_operations(url: str, revision: tuple, signatures: tuple, signature: int, filtres: Filtres):
    return placer_cercles_indicateurs(calculer_communes(filtres), charger_couche("communes_affichage"))


def charger_resume_operations(filtres: Filtres, couleur_par: str = "type_site") -> ResumeOperations:
    """Ce que le fond des cartes du bassin montre des opérations (nombre par commune, types de site ou statuts
    présents), lu dans les agrégats de la base : le premier affichage ne charge aucune opération une à une."""
    return ResumeOperations.depuis_indicateurs(calculer_communes(filtres), calculer_groupes(filtres, couleur_par),
                                               couleur_par)


def lire_fiche_operation(ident, filtres: Filtres) -> str | None:
    """HTML échappé de la fiche courte de l'opération ``ident`` (cliquée sur une carte), lue à la demande et
    gardée par révision, droits et filtres ; None si elle n'est pas visible par l'utilisateur ou pas retenue par
    les filtres (identifiant forgé compris)."""
    try:
        ident = int(ident)
    except (TypeError, ValueError, OverflowError):
        return None
    return _fiche_operation(url_base(), revision_lecture(), filtres, ident)


@st.cache_data(show_spinner=False, max_entries=256)
def _fiche_operation(url: str, revision: tuple, filtres: Filtres, ident: int) -> str | None:
    from donnees.photos import resoudre_photo

    operations = filtrer_operations(charger_operations(), filtres)
    lignes = operations[operations["id"].eq(ident).to_numpy(bool)]
    if lignes.empty:
        return None
    indicateurs = calculer_operations(filtres)
    indicateurs = indicateurs[indicateurs["operation_id"].eq(ident).to_numpy(bool)]
    apres = charger_photos(ident)
    apres = apres[apres["moment"].eq("apres").to_numpy(bool)]
    vignette = creer_vignette(resoudre_photo(apres["chemin"].iloc[0], dossier_donnees())) if len(apres) else None
    return construire_fiche_html(lignes.iloc[0], indicateurs.iloc[0] if len(indicateurs) else None, vignette, None)


# ------------------------------------------------------------------------------------ écritures


def obtenir_facade():
    """Magasin vu par l'utilisateur courant : lectures filtrées, écritures vérifiées côté données."""
    from donnees.droits import MagasinProtege

    return MagasinProtege(obtenir_magasin(), utilisateur_courant())


def ouvrir_page_reservee(titre: str, autorisee: bool, refus: str, cle_message: str) -> None:
    """Titre de page, refus en français (et arrêt) si l'utilisateur n'a pas le droit, puis le message de
    réussite laissé par l'action précédente (clé ``cle_message`` de l'état de session)."""
    st.title(titre)
    if not autorisee:
        utilisateur = utilisateur_courant()
        if est_public(utilisateur):
            st.info(f"{refus} : connectez-vous (page Connexion).")
        else:
            st.info(f"{refus}. Votre compte ({ROLES.get(utilisateur.role, utilisateur.role)}) ne le permet pas : "
                    "demandez l'accès à un administrateur du syndicat de bassin si besoin.")
        st.stop()
    message = st.session_state.pop(cle_message, None)
    if message:
        st.success(message)


def executer_ecriture(action, reussite, cle_message: str) -> None:
    """Exécute une écriture ; refus ou conflit → message d'erreur en français ; réussite → message gardé pour
    la relance (``reussite`` : texte, ou fonction du résultat qui le renvoie) et relance de la page."""
    try:
        resultat = action()
    except ErreurDonnees as erreur:
        st.error(str(erreur))
    else:
        oublier_revision()
        st.session_state[cle_message] = reussite(resultat) if callable(reussite) else reussite
        st.rerun()


def estimer_apercu(zones, revetements) -> dict:
    """Aperçu des indicateurs des zones saisies, avec les paramètres du territoire (mêmes formules que les
    indicateurs)."""
    return saisie.estimer_apercu(zones, revetements, parametres_territoire())


def enregistrer_saisie(operation: dict, photos: list, photos_gardees: list, edition: dict | None = None,
                       version_ouverte: int | None = None, jeton_soumission: str | None = None) -> tuple:
    """Crée ou modifie une opération avec ses photos, avec les droits de l'utilisateur courant ; renvoie
    ``(identifiant, message)`` ; lève ErreurDonnees (dont ConflitVersion) si l'écriture est refusée. Une
    création porte le jeton du formulaire : un second envoi du même jeton ne crée pas de doublon."""
    try:
        return saisie.enregistrer_saisie(obtenir_facade(), operation, photos, photos_gardees, dossier_donnees(),
                                         edition, version_ouverte, jeton_soumission)
    finally:
        oublier_revision()


# ------------------------------------------------------------------------------------ scénarios prospectifs


@st.cache_resource(show_spinner=False, max_entries=2)
def _contexte_scenarios(dossier: str, revision: tuple, territoire: int):
    from services.scenarios import preparer_contexte

    return preparer_contexte(Path(dossier), charger_modeles())


def contexte_scenarios():
    """Registre, coûts unitaires et modèles que partagent les calculs de scénarios (:mod:`services.scenarios`),
    gardés par processus pour cette révision du magasin et ce territoire."""
    dossier = dossier_donnees()
    return _contexte_scenarios(str(dossier), revision_magasin(), _signature(chemin_territoire(dossier)))


@st.cache_data(show_spinner=False, max_entries=16)
def _effet_scenario(dossier: str, revision: tuple, scenario_id: int, empreinte: tuple):
    from services.scenarios import calculer_effet_scenario

    facade = obtenir_facade()
    nom = facade.lire_scenario(scenario_id)["nom"]
    return calculer_effet_scenario(nom, facade.lire_sites_scenario(scenario_id), contexte_scenarios())


def calculer_effet_scenario(scenario_id: int, empreinte: tuple):
    """Effet d'un scénario lisible par l'utilisateur (droits vérifiés par la façade), gardé par processus pour
    cette révision du magasin et cette ``empreinte`` du scénario (version, sites et leur surface)."""
    obtenir_facade().lire_scenario(scenario_id)  # droits de lecture vérifiés à chaque appel
    return _effet_scenario(str(dossier_donnees()), revision_magasin(), int(scenario_id), empreinte)


def calculer_reference_scenarios():
    """Effet des seules opérations programmées du registre (colonne de référence des comparaisons)."""
    from services.scenarios import calculer_reference

    return calculer_reference(contexte_scenarios())


# ------------------------------------------------------------------------------------ rapports PDF


@st.cache_data(show_spinner=False, max_entries=8)
def _rapport_pdf(dossier: str, revision: tuple, cle: tuple, demande) -> bytes:
    from services.rapports import produire_rapport

    return produire_rapport(demande, _utilisateur_de_cle(cle), Path(dossier))


def _produire_rapport_differe(dossier: str, revision: tuple, cle: tuple, demande, actif):
    """Fonction sans argument que Streamlit appelle au clic (dans un autre fil : le territoire actif y est remis) ;
    un refus devient un PDF d'une page qui le dit, jamais une erreur muette."""
    from services.rapports import produire_rapport_erreur

    def produire() -> bytes:
        with dans_territoire(actif):
            try:
                return _rapport_pdf(dossier, revision, cle, demande)
            except ErreurDonnees as exc:
                return produire_rapport_erreur(demande, str(exc))

    return produire


def proposer_rapport(genre: str, filtres: Filtres, code_insee: str | None = None, cle: str = "rapport") -> None:
    """Téléchargement du rapport PDF (``genre`` : bassin, commune, financeur) pour les filtres de la page : année
    du rapport, financeur (rapport financeur), puis bouton ; le PDF est produit au clic (quelques secondes) avec les
    droits de la session — version publique si elle ne lit pas les montants."""
    from datetime import date

    from services.rapports import GENRES_RAPPORT, DemandeRapport, lire_montants, nommer_fichier_rapport

    utilisateur = utilisateur_courant()
    annees = _annees_disponibles() or [date.today().year]
    defaut = date.today().year if date.today().year in annees else annees[-1]
    colonnes = st.columns([1, 2, 2] if genre == "financeur" else [1, 3])
    annee = colonnes[0].selectbox("Année du rapport", annees[::-1], index=annees[::-1].index(defaut),
                                  key=f"{cle}_annee")
    financeur = None
    if genre == "financeur":
        financeurs = sorted(charger_financements()["financeur"].dropna().astype(str).unique())
        if not financeurs:
            st.caption("Aucune aide déclarée : pas de rapport financeur.")
            return
        financeur = colonnes[1].selectbox("Financeur", financeurs, key=f"{cle}_financeur")
    demande = DemandeRapport(genre, int(annee), filtres, code_insee, financeur)
    public = not lire_montants(utilisateur, demande)
    version = "version publique (sans coût ni aide)" if public else "version complète (coûts et aides)"
    with colonnes[-1]:
        st.download_button(
            f"{GENRES_RAPPORT[genre]} (PDF)", _produire_rapport_differe(
                str(dossier_donnees()), revision_lecture(), cle_utilisateur(), demande, territoire_actif()),
            nommer_fichier_rapport(demande, public), mime="application/pdf", on_click="ignore",
            icon=":material/picture_as_pdf:", key=f"{cle}_bouton",
            help=f"Rapport {annee}, {version}, avec les filtres en vigueur sur cette page ; produit au clic "
                 "(quelques secondes).")


# ------------------------------------------------------------------------------------ ressources (issue 16, partie 1)


def lire_ressources_partagees() -> tuple:
    """Ressources publiées et partagées des autres territoires de l'instance, lues avec les droits de cette session
    dans chacun (:func:`services.ressources.lire_ressources_partagees`) ; (table vide, []) sans autre territoire."""
    from services import ressources

    if not plusieurs_territoires():
        return ressources.lire_ressources_partagees([], "", _utilisateur_du_territoire)
    return ressources.lire_ressources_partagees(lister_territoires_instance(), territoire_courant().code,
                                                _utilisateur_du_territoire)


def preparer_fichier_partage(code: str, ressource_id: int):
    """Fonction sans argument qui lit le fichier d'une ressource partagée du territoire ``code`` (au clic sur
    « Télécharger », hors de l'exécution du script : compte du lecteur dans ce territoire lu dès maintenant)."""
    from services import ressources

    territoire = next(t for t in lister_territoires_instance() if t.code == code)
    utilisateur = _utilisateur_du_territoire(territoire)
    return lambda: ressources.lire_fichier_partage(territoire, utilisateur, int(ressource_id))
