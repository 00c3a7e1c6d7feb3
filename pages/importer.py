"""Page « Importer des opérations » : fichier SIG, CSV ou XLSX → correspondance des colonnes → aperçu avec
les erreurs par ligne → import tout-ou-rien ou des seules lignes valides, avec les droits du compte."""

import hashlib

import pandas as pd
import streamlit as st

from donnees.import_operations import (
    CHAMPS_IMPORT,
    generer_modele_xlsx,
    importer,
    lire_fichier,
    preparer_import,
    proposer_correspondance,
)
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_date, formater_nombre
from donnees.import_operations.seuils import limite
from pages import commun
from vues.tableaux import traduire_codes

MODES = {"tout_ou_rien": "Tout ou rien : rien n'est écrit si une ligne est en erreur",
         "lignes_valides": "Seulement les lignes valides"}
NIVEAUX = {"erreur": "Erreur", "avertissement": "Avertissement"}
EN_TETES_APERCU = {"operation": "Opération", "lignes": "Lignes", "etat": "État", "nom": "Nom",
                   "code_insee": "Code INSEE", "type_site": "Type de site", "statut": "Statut",
                   "date_fin_travaux": "Fin des travaux", "cout_ht_eur": "Coût HT (€)", "aides_eur": "Aides (€)",
                   "nb_zones": "Zones", "surface_m2": "Surface (m²)", "surface_declaree_m2": "Surface déclarée (m²)",
                   "localisation_approximative": "Localisation "
                   "approximative"}

OUI_NON = {True: "oui", False: "non"}


def traduire_apercu(lignes: pd.DataFrame) -> pd.DataFrame:
    """Aperçu lisible : libellés au lieu des codes (type de site, statut), commune nommée à côté de son code,
    dates « 15/09/2024 », oui/non, en-têtes français."""
    lignes = traduire_codes(lignes)
    if "code_insee" in lignes.columns:
        lignes["code_insee"] = lignes["code_insee"].map(commun.nommer_commune)
    if "date_fin_travaux" in lignes.columns:
        lignes["date_fin_travaux"] = lignes["date_fin_travaux"].map(formater_date)
    if "localisation_approximative" in lignes.columns:
        lignes["localisation_approximative"] = lignes["localisation_approximative"].map(
            lambda v: OUI_NON.get(bool(v), "—") if pd.notna(v) else "—")
    return lignes.rename(columns={**EN_TETES_APERCU, "code_insee": "Commune"})


CLE_CACHE = "import_cache"


def lire_en_cache(octets: bytes, nom: str, empreinte: str, lecture: dict):
    """Table lue du fichier, gardée pour la session tant que le fichier (empreinte SHA-256) et les options de
    lecture ne changent pas : un clic ne relit pas le fichier."""
    cle = ("lecture", empreinte, nom, tuple(sorted(lecture.items())))
    cache = st.session_state.get(CLE_CACHE) or {}
    if cache.get("cle_lecture") != cle:
        cache = {"cle_lecture": cle, "table": lire_fichier(octets, nom, **lecture)}
        st.session_state[CLE_CACHE] = cache
    return cache["table"]


def preparer_en_cache(table, correspondance: dict, centroide: bool, cle: tuple):
    """Aperçu préparé (contrôles de toutes les lignes), gardé pour la session tant que la clé (empreinte du
    fichier, options, correspondance, compte) ne change pas : un clic (mode d'import, tri) ne le recalcule pas."""
    cache = st.session_state[CLE_CACHE]
    if cache.get("cle_apercu") != cle:
        cache.pop("apercu", None)
        cache["apercu"] = preparer_import(
            table, correspondance, parcelles=commun.charger_couche("parcelles"),
            communes=commun.charger_couche("communes"), magasin=facade, localiser_au_centroide=centroide)
        cache["cle_apercu"] = cle
    return cache["apercu"]


utilisateur = commun.utilisateur_courant()
facade = commun.obtenir_facade()
commun.ouvrir_page_reservee(
    "Importer des opérations", facade.peut("creer"),
    "L'import est réservé aux référents des communes et au syndicat",
    "import_message")


@st.cache_data(show_spinner=False)
def lire_modele_xlsx() -> bytes:
    """Le modèle XLSX, construit une fois par processus (il ne dépend que des nomenclatures)."""
    return generer_modele_xlsx()


st.markdown("Formats : GeoJSON, GeoPackage, Shapefile zippé (avec son .prj), KML, CSV (géométrie en WKT ou "
            f"références cadastrales « AB 123 ») et XLSX. {commun.limite_televersement()}, "
            f"{formater_nombre(limite('lignes_max_fichier'))} lignes et "
            f"{formater_nombre(limite('sommets_max_geometrie'))} sommets par zone au plus. Chaque ligne est "
            "contrôlée ; vous choisissez ensuite d'importer tout ou seulement les lignes valides.")
st.download_button("Télécharger le modèle XLSX", lire_modele_xlsx(), "modele_import_desimper.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   icon=":material/download:", on_click="ignore")
perimetre = facade.lire_perimetre("creer")  # None : toutes les communes
if perimetre is not None:
    st.caption(f"Votre compte peut importer dans : {commun.nommer_communes(perimetre)}.")

fichier = st.file_uploader("Fichier à importer", key="import_fichier",
                           type=["geojson", "json", "gpkg", "zip", "kml", "kmz", "csv", "xlsx"])
gauche, milieu, droite = st.columns(3)
crs = gauche.text_input("Système de coordonnées si le fichier n'en déclare pas", placeholder="ex. EPSG:2154",
                        key="import_crs")
couche = milieu.text_input("Couche (GeoPackage)", key="import_couche")
centroide = droite.checkbox("Placer les lignes sans géométrie au centre de leur commune", key="import_centroide",
                            help="Localisation approximative signalée ; les surfaces absentes ne sont jamais "
                                 "inventées.")
if fichier is None:
    st.session_state.pop(CLE_CACHE, None)
    st.stop()

octets = fichier.getvalue()
empreinte = hashlib.sha256(octets).hexdigest()
lecture = {cle: valeur.strip() for cle, valeur in (("crs_declare", crs), ("couche", couche)) if valeur.strip()}
try:
    table = lire_en_cache(octets, fichier.name, empreinte, lecture)
except ErreurDonnees as erreur:
    st.error(str(erreur), icon=":material/block:")
    st.stop()

proposee = proposer_correspondance(table)
colonnes = [None, *[str(c) for c in table.donnees.columns]]
with st.expander("Correspondance des colonnes", expanded=False):
    st.caption("Proposée automatiquement d'après les en-têtes ; corrigez-la si besoin.")
    correspondance = {}
    grille = st.columns(3)
    for rang, (champ, libelle_champ) in enumerate(CHAMPS_IMPORT.items()):
        choix = proposee.get(champ)
        correspondance[champ] = grille[rang % 3].selectbox(
            libelle_champ, colonnes, index=colonnes.index(choix) if choix in colonnes else 0,
            format_func=lambda c: "—" if c is None else c, key=f"import_champ_{champ}")
correspondance = {champ: colonne for champ, colonne in correspondance.items() if colonne}
if not (table.a_geometrie or "geometrie_wkt" in correspondance or "parcelles" in correspondance or centroide):
    st.info("Ce fichier n'a ni géométrie, ni colonne WKT, ni références cadastrales : cochez « Placer les lignes "
            "sans géométrie au centre de leur commune » pour l'importer en localisation approximative (les "
            "surfaces absentes ne sont pas inventées), ou ajoutez la géométrie des zones au fichier.",
            icon=":material/location_searching:")

cle_apercu = (empreinte, tuple(sorted(lecture.items())), tuple(sorted(correspondance.items())), centroide,
              utilisateur.email)
try:
    apercu = preparer_en_cache(table, correspondance, centroide, cle_apercu)
except ErreurDonnees as erreur:
    st.error(str(erreur), icon=":material/block:")
    st.stop()
resume = st.columns(3)
resume[0].metric("Opérations lues", apercu.nb_operations)
resume[1].metric("Erreurs", apercu.nb_erreurs)
resume[2].metric("Avertissements", apercu.nb_avertissements)
if len(apercu.erreurs):
    erreurs = apercu.erreurs.assign(niveau=apercu.erreurs["niveau"].map(NIVEAUX))
    # Le message d'abord ; fichier et feuille seulement s'ils varient (un classeur, plusieurs fichiers).
    colonnes_erreurs = ["ligne", "niveau", "champ", "message", "fichier", "feuille"]
    colonnes_erreurs = [c for c in colonnes_erreurs if c in erreurs.columns
                        and (c not in ("fichier", "feuille") or erreurs[c].nunique(dropna=True) > 1)]
    st.dataframe(erreurs[colonnes_erreurs].astype(object).where(erreurs[colonnes_erreurs].notna(), "")
                 .rename(columns={"fichier": "Fichier", "feuille": "Feuille", "ligne": "Ligne", "champ": "Champ",
                                  "niveau": "Niveau", "message": "Message"}),
                 hide_index=True, width="stretch",
                 column_config={"Message": st.column_config.TextColumn(width="large")})
if len(apercu.apercu):
    st.markdown("**Aperçu**")
    montrees = int(limite("lignes_max_apercu_affichees"))
    lignes_apercu = apercu.apercu.drop(columns=apercu.apercu.geometry.name)
    if len(lignes_apercu) > montrees:
        st.caption(f"Les {formater_nombre(montrees)} premières opérations sur {formater_nombre(len(lignes_apercu))} : "
                   "toutes sont contrôlées, les erreurs ci-dessus portent sur tout le fichier.")
    commun.afficher_tableau(traduire_apercu(lignes_apercu.head(montrees)), cle="Nom")

mode = st.radio("Mode d'import", list(MODES), format_func=MODES.get, key="import_mode")
if st.button("Importer", type="primary", icon=":material/upload:", disabled=not apercu.operations):
    rapport = importer(apercu, facade, utilisateur.email, mode)
    st.session_state.pop(CLE_CACHE, None)  # le registre a pu changer : l'aperçu suivant est recalculé
    commun.oublier_revision()
    if rapport.ecrit:
        st.session_state["import_message"] = rapport.message
        st.session_state.pop("import_fichier", None)
        st.rerun()
    st.error(rapport.message)
