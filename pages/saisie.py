"""Page « Saisir une opération » : formulaire complet, zones dessinées sur la carte ou prises au cadastre,
revêtements avant/après, aperçu des indicateurs, photos ; enregistrement avec les droits du compte."""

import re
from datetime import date

import folium.plugins
import geopandas as gpd
import pandas as pd
import streamlit as st
from shapely.geometry import shape
from streamlit_folium import st_folium

from donnees.config import dossier_donnees
from donnees.nomenclatures import STATUTS, lire_revetements, lire_types_site
from donnees.photos import enregistrer_photo
from donnees.schemas import ErreurDonnees
from indicateurs.catalogue import formater_valeur
from indicateurs.chaleur import ParametresChaleur, estimer_score_site
from indicateurs.communs import recalculer_surfaces
from pages import commun
from vues.cartes import construire_carte_commune

FINANCEURS = ["Agence de l'eau Rhône Méditerranée Corse", "Région Occitanie", "Département de l'Hérault",
              "État (Fonds vert)", "Autre"]
MOTIF_REFERENCE = re.compile(r"^\s*(?:(\d{5})(\d{3}))?\s*([0-9A-Z]{1,2})\s*0*(\d{1,4})\s*$")

utilisateur = commun.utilisateur_courant()
facade = commun.obtenir_facade()
commun.ouvrir_page_reservee(
    "Saisir une opération", utilisateur.role in ("administrateur", "referent"),
    "La saisie est réservée aux référents des communes et au syndicat : connectez-vous (page Connexion).",
    "saisie_message")

communes = commun.charger_couche("communes")
noms = dict(zip(communes["code_insee"], communes["nom"]))
autorisees = sorted(noms if utilisateur.role == "administrateur" else
                    [c for c in utilisateur.communes if c in noms], key=noms.get)
if not autorisees:
    st.error("Votre compte n'est rattaché à aucune commune du territoire : demandez l'accès à un administrateur.")
    st.stop()
code = st.selectbox("Commune", autorisees, format_func=lambda c: f"{noms[c]} ({c})", key="saisie_commune")
revetements = lire_revetements()
libelles_revetements = revetements["libelle"].to_dict()


def lire_references(texte: str) -> tuple[list[str], list[str]]:
    """Références cadastrales « AB 123 », « AB123 » ou identifiant à 14 caractères → identifiants Etalab."""
    identifiants, illisibles = [], []
    for morceau in filter(None, (m.strip().upper() for m in re.split(r"[,;\n]", texte or ""))):
        trouve = MOTIF_REFERENCE.match(morceau.replace(" ", " "))
        if not trouve:
            illisibles.append(morceau)
            continue
        insee, prefixe, section, numero = trouve.groups()
        identifiants.append(f"{insee or code}{prefixe or '000'}{section.rjust(2, '0')}{int(numero):04d}")
    return identifiants, illisibles


# --------------------------------------------------------------------------------------- zones
st.subheader("Zones")
st.caption("Dessinez chaque zone (pelouse, massif, enrobé conservé…) avec l'outil polygone, ou donnez des "
           "références cadastrales. Chaque zone reçoit ensuite son revêtement avant et après.")
carte = construire_carte_commune(communes[communes["code_insee"] == code], None)
folium.plugins.Draw(export=False, draw_options={"polyline": False, "circle": False, "marker": False,
                                                "circlemarker": False, "rectangle": True, "polygon": True},
                    edit_options={"edit": True, "remove": True}).add_to(carte)
retour = st_folium(carte, height=460, use_container_width=True, returned_objects=["all_drawings"],
                   key=f"saisie_carte_{code}")
dessins = (retour or {}).get("all_drawings") or (st.session_state.get("saisie_dessins") or [])
references = st.text_input("Parcelles cadastrales", key="saisie_parcelles", placeholder="ex. AB 123, AB124")
parcelles_ids, illisibles = lire_references(references)
if illisibles:
    st.error(f"Références cadastrales illisibles : {', '.join(illisibles)}. Écrivez « AB 123 », « AB123 » ou "
             "l'identifiant à 14 caractères.")
parcelles = commun.charger_couche("parcelles")
retenues = parcelles[parcelles["id"].isin(parcelles_ids).to_numpy(bool) & parcelles["commune"].eq(code).to_numpy(bool)]
inconnues = sorted(set(parcelles_ids) - set(retenues["id"]))
if inconnues:
    st.error(f"Parcelles introuvables dans {noms[code]} : {', '.join(inconnues)}. Vérifiez la section et le numéro.")

geometries, sources = [], []
for rang, dessin in enumerate(dessins, start=1):
    try:
        geometrie = shape(dessin.get("geometry") or {})
    except (ValueError, AttributeError, TypeError):
        continue
    if geometrie.geom_type in ("Polygon", "MultiPolygon") and not geometrie.is_empty:
        geometries.append(geometrie)
        sources.append(f"Dessin {rang}")
for _, parcelle in retenues.iterrows():
    geometries.append(parcelle.geometry)
    sources.append(f"Parcelle {parcelle['section']} {parcelle['numero']}")

zones = None
if geometries:
    zones = gpd.GeoDataFrame({"source": sources}, geometry=geometries, crs=4326)
    zones["surface_m2"] = recalculer_surfaces(zones).round(1).to_numpy()
    editeur = st.data_editor(
        pd.DataFrame({"Zone": sources, "Surface (m²)": zones["surface_m2"].to_numpy(),
                      "Revêtement avant": "enrobe", "Revêtement après": "pelouse"}),
        hide_index=True, width="stretch", key=f"saisie_zones_{len(sources)}", disabled=["Zone", "Surface (m²)"],
        column_config={c: st.column_config.SelectboxColumn(c, options=list(revetements.index), required=True,
                                                            format_func=libelles_revetements.get)
                       for c in ("Revêtement avant", "Revêtement après")})
    zones["revetement_avant"] = editeur["Revêtement avant"].to_numpy()
    zones["revetement_apres"] = editeur["Revêtement après"].to_numpy()
else:
    st.info("Aucune zone pour l'instant : dessinez-en une ou saisissez une parcelle.")

# --------------------------------------------------------------------------------------- fiche
st.subheader("Fiche")
types = lire_types_site()
gauche, droite = st.columns(2)
nom = gauche.text_input("Nom de l'opération", key="saisie_nom", placeholder="ex. Cour de l'école Jules-Ferry")
type_site = droite.selectbox("Type de site", list(types), format_func=types.get, key="saisie_type")
statut = gauche.selectbox("Statut", list(STATUTS), format_func=STATUTS.get, index=2, key="saisie_statut")
date_fin = droite.date_input("Fin des travaux (réelle ou prévue)", value=None, format="DD/MM/YYYY",
                             min_value=date(1990, 1, 1), max_value=date(2100, 12, 31), key="saisie_date")
maitre_ouvrage = gauche.text_input("Maître d'ouvrage", key="saisie_mo", placeholder=f"ex. Ville de {noms[code]}")
contact = droite.text_input("Contact (adresse de service, pas de nom de personne)", key="saisie_contact")
cout = gauche.number_input("Coût HT (€)", min_value=0.0, value=None, step=1000.0, key="saisie_cout")
arbres = droite.number_input("Arbres plantés", min_value=0, value=0, step=1, key="saisie_arbres")
stockage = gauche.number_input("Volume de stockage des eaux de pluie (m³)", min_value=0.0, value=None,
                               key="saisie_stockage")
declaree = droite.number_input("Surface déclarée (m²), si connue", min_value=0.0, value=None, key="saisie_declaree")
deconnexion = st.checkbox("Eaux de pluie déconnectées du réseau", key="saisie_deconnexion")
description = st.text_area("Description", key="saisie_description")
retour_experience = st.text_area("Retour d'expérience (difficultés, conseils)", key="saisie_rex")
financements = st.data_editor(pd.DataFrame({"Financeur": pd.Series(dtype=str), "Montant (€)": pd.Series(dtype=float)}),
                              num_rows="dynamic", hide_index=True, width="stretch", key="saisie_financements",
                              column_config={"Financeur": st.column_config.SelectboxColumn(options=FINANCEURS),
                                             "Montant (€)": st.column_config.NumberColumn(min_value=0.0)})
photos = st.file_uploader("Photos avant / après (JPEG ou PNG, 10 Mo au plus chacune)", type=["jpg", "jpeg", "png"],
                          accept_multiple_files=True, key="saisie_photos")
moments = {photo.name: st.radio(f"« {photo.name} »", ["avant", "apres"], horizontal=True,
                                format_func={"avant": "Avant", "apres": "Après"}.get, key=f"moment_{photo.name}")
           for photo in photos or []}

# --------------------------------------------------------------------------------------- aperçu
if zones is not None:
    st.subheader("Aperçu")
    parametres = commun.parametres_territoire()
    impermeables = set(revetements.index[revetements["impermeable"]])
    desimpermeabilise = zones[zones["revetement_avant"].isin(impermeables)
                              & ~zones["revetement_apres"].isin(impermeables)]["surface_m2"].sum()
    c_avant = zones["revetement_avant"].map(revetements["c_ruissellement"])
    c_apres = zones["revetement_apres"].map(revetements["c_ruissellement"])
    volume = float((zones["surface_m2"] * parametres["pluie_annuelle_mm"] / 1000 * (c_avant - c_apres)).sum())
    score = estimer_score_site(zones, ParametresChaleur.depuis_parametres(parametres))
    apercu = st.columns(3)
    apercu[0].metric("Surface désimperméabilisée", formater_valeur("surface_desimpermeabilisee", desimpermeabilise))
    apercu[1].metric("Volume infiltré supplémentaire", formater_valeur("volume_infiltre", volume))
    apercu[2].metric("Effet de chaleur local", formater_valeur("delta_t_site", score["delta_t_local_c"]),
                     help=score["libelle"])

if st.button("Enregistrer l'opération", type="primary", icon=":material/save:", disabled=zones is None):
    lignes = financements.dropna(how="any")
    operation = {
        "code_insee": code, "nom": nom, "type_site": type_site, "statut": statut, "validation": "a_valider",
        "date_fin_travaux": date_fin, "maitre_ouvrage": maitre_ouvrage or None, "description": description or None,
        "retour_experience": retour_experience or None, "contact": contact or None, "cout_ht_eur": cout,
        "arbres_plantes": int(arbres), "deconnexion_reseau": deconnexion, "volume_stockage_m3": stockage,
        "surface_declaree_m2": declaree, "parcelles": list(retenues["id"]),
        "zones": [{"geometrie": g, "revetement_avant": a, "revetement_apres": p}
                  for g, a, p in zip(zones.geometry, zones["revetement_avant"], zones["revetement_apres"])],
        "financements": [{"financeur": f, "montant_eur": float(m)} for f, m in
                         zip(lignes["Financeur"], lignes["Montant (€)"])],
    }
    ecrites = []
    try:
        for photo in photos or []:
            ecrites.append({"moment": moments[photo.name], "legende": photo.name,
                            "chemin": enregistrer_photo(photo.getvalue(), photo.name, dossier_donnees())})
        operation["photos"] = ecrites
        ident = facade.creer_operation(operation)
    except ErreurDonnees as erreur:
        for photo in ecrites:  # rien à moitié : les photos d'une saisie refusée sont retirées
            (dossier_donnees() / photo["chemin"]).unlink(missing_ok=True)
        st.error(str(erreur))
    else:
        st.session_state["saisie_message"] = (f"Opération n° {ident} enregistrée ; elle est « à valider » par le "
                                              "syndicat de bassin.")
        for cle in [c for c in st.session_state if str(c).startswith(("saisie_", "moment_"))]:
            if cle not in ("saisie_commune", "saisie_message"):
                del st.session_state[cle]
        st.rerun()
