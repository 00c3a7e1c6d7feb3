"""Page « Saisir une opération » : formulaire complet, zones dessinées sur la carte ou prises au cadastre,
revêtements avant/après, aperçu des indicateurs, photos ; enregistrement avec les droits du compte."""

import hashlib
import re
import uuid
from datetime import date

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from shapely.geometry import shape
from streamlit_folium import st_folium

from donnees.cadastre import lire_reference_parcelle
from donnees.geometrie import CRS_STOCKAGE, en_lambert93, en_wgs84
from donnees.modele_operation import libelle_saisie
from donnees.zones import controler_zones
from donnees.nomenclatures import MOMENTS_PHOTO, STATUTS, lire_financeurs, lire_revetements, lire_types_site
from donnees.schemas import ErreurDonnees
from indicateurs.catalogue import formater_valeur, libelle
from indicateurs.communs import recalculer_surfaces
from pages import commun
from vues.cartes import construire_carte_saisie, construire_surimpression, lire_fonds_carte
from vues.format import echapper_markdown
from vues.methode import decrire_compromis_zones

STYLE_ZONES_ENREGISTREES = {"color": "#555555", "weight": 2, "fillColor": "#999999", "fillOpacity": 0.35}
CHOISIR_REVETEMENT = "Choisir…"

facade = commun.obtenir_facade()
ident_edition = st.query_params.get("id")
commun.ouvrir_page_reservee(
    f"Modifier l'opération n° {ident_edition}" if ident_edition else "Saisir une opération",
    facade.peut("modifier" if ident_edition else "creer"),
    "La saisie est réservée aux référents des communes et au syndicat",
    "saisie_message")

communes = commun.charger_couche("communes")
noms = dict(zip(communes["code_insee"], communes["nom"]))


# Valeurs d'un formulaire vierge : réécrites (et non seulement oubliées) pour que le navigateur efface aussi
# ce qu'il affiche. Les autres champs (carte, financements, photos) portent le jeton dans leur clé.
VIERGE = {"saisie_nom": "", "saisie_mo": "", "saisie_contact": "", "saisie_description": "", "saisie_rex": "",
          "saisie_parcelles": "", "saisie_date": None, "saisie_cout": None, "saisie_stockage": None,
          "saisie_declaree": None, "saisie_vegetalisee": None, "saisie_arbres": 0, "saisie_deconnexion": False,
          "saisie_statut": "realisee", "saisie_type": next(iter(lire_types_site()))}


def vider_saisie(garder_commune: bool = False) -> None:
    """Formulaire vierge, nouveau jeton de soumission, dessins oubliés (après un enregistrement, ou pour
    recharger une opération) ; le message de réussite est gardé. À appeler avant les champs du formulaire
    (sinon : :func:`demander_vidage`)."""
    gardees = ("saisie_message", "saisie_reussite", *(("saisie_commune",) if garder_commune else ()))
    for cle in [c for c in st.session_state if str(c).startswith(("saisie_", "moment_"))]:
        if cle not in gardees and cle not in VIERGE:
            del st.session_state[cle]
    st.session_state.update(VIERGE)


def demander_vidage(garder_commune: bool = False) -> None:
    """Vide le formulaire au début de la prochaine exécution de la page (ses champs sont déjà affichés)."""
    st.session_state["vidage_saisie"] = garder_commune


if "vidage_saisie" in st.session_state:
    vider_saisie(st.session_state.pop("vidage_saisie"))


edition = None  # opération modifiée, telle qu'elle était à son ouverture
if ident_edition:
    try:
        edition = facade.lire_operation(int(ident_edition))
    except (ValueError, ErreurDonnees) as erreur:
        st.error(str(erreur) if isinstance(erreur, ErreurDonnees) else
                 f"« {ident_edition} » n'est pas un numéro d'opération.")
        st.stop()
    if not facade.peut("modifier", edition["code_insee"], edition):
        st.error("Vous ne pouvez pas modifier cette opération : elle est hors de vos communes, supprimée, ou "
                 "votre rôle ne le permet pas.")
        st.stop()
    ouverte = st.session_state.get("saisie_edition")
    if not ouverte or ouverte["id"] != edition["id"]:
        # Première ouverture : le formulaire est pré-rempli et la version lue est retenue ; si quelqu'un
        # enregistre entre-temps, notre enregistrement sera refusé (conflit) au lieu d'écraser le sien.
        vider_saisie()
        st.session_state["saisie_edition"] = {"id": edition["id"], "version": edition["version"]}
        st.session_state.update({
            "saisie_commune": edition["code_insee"], "saisie_nom": edition["nom"],
            "saisie_type": edition["type_site"], "saisie_statut": edition["statut"],
            "saisie_date": edition["date_fin_travaux"], "saisie_mo": edition["maitre_ouvrage"] or "",
            "saisie_contact": edition["contact"] or "", "saisie_cout": edition["cout_ht_eur"],
            "saisie_arbres": int(edition["arbres_plantes"] or 0), "saisie_stockage": edition["volume_stockage_m3"],
            "saisie_declaree": edition["surface_declaree_m2"],
            "saisie_vegetalisee": edition.get("surface_vegetalisee_m2"),
            "saisie_deconnexion": bool(edition["deconnexion_reseau"]),
            "saisie_description": edition["description"] or "", "saisie_rex": edition["retour_experience"] or "",
            "saisie_parcelles": ", ".join(edition["parcelles"] or [])})
    version_ouverte = st.session_state["saisie_edition"]["version"]
    etat = {"a_valider": "à valider", "validee": "validée", "a_corriger": "à corriger"}[edition["validation"]]
    st.caption(f"Version {version_ouverte}, {etat}. Les zones déjà enregistrées sont en gris sur la carte ; "
               "décochez « Garder » pour en retirer une, dessinez pour en ajouter.")
    if edition.get("localisation_approximative"):
        st.warning("Localisation approximative : l'opération est placée au centre de la commune. Dessinez ses "
                   "zones réelles puis décochez « Garder » sur la zone enregistrée.")
    if edition["validation"] == "a_corriger" and edition.get("commentaire_validation"):
        st.warning(f"Correction demandée par le syndicat : {echapper_markdown(edition['commentaire_validation'])}")
    if edition["validation"] == "validee" and not facade.peut("valider", edition["code_insee"], edition):
        st.info("Cette opération est validée : si vous l'enregistrez modifiée, elle repassera « à valider ».")
elif "saisie_edition" in st.session_state:  # on revient d'une modification : formulaire vierge
    vider_saisie()



def afficher_reussite() -> None:
    """Message de l'enregistrement précédent, lien vers la fiche et « Saisir une autre opération »."""
    reussite = st.session_state.get("saisie_reussite")
    if not reussite or edition is not None:
        return
    with st.container(border=True):
        st.success(reussite["message"], icon=":material/check_circle:")
        st.page_link("pages/fiche.py", label=f"Voir la fiche de l'opération n° {reussite['id']}",
                     icon=":material/description:", query_params={"id": str(reussite["id"])})
        if st.button("Saisir une autre opération", icon=":material/add:", key="bouton_autre_saisie"):
            st.session_state.pop("saisie_reussite", None)
            st.rerun()


afficher_reussite()
# Jeton de cette soumission du formulaire : créé à son ouverture, renouvelé après chaque enregistrement ; le
# magasin ne crée qu'une opération par jeton, quels que soient les clics sur « Enregistrer ».
jeton = st.session_state.setdefault("saisie_jeton", str(uuid.uuid4()))

perimetre = facade.lire_perimetre("creer")  # None : toutes les communes
autorisees = sorted(noms if perimetre is None else [c for c in perimetre if c in noms], key=noms.get)
if not autorisees:
    st.error("Votre compte n'est rattaché à aucune commune du territoire : demandez l'accès à un administrateur.")
    st.stop()
code = st.selectbox(libelle_saisie("code_insee"), autorisees, format_func=commun.nommer_commune,
                    key="saisie_commune", disabled=edition is not None)
revetements = lire_revetements()
libelles_revetements = revetements["libelle"].to_dict()


def lire_references(texte: str) -> tuple[list[str], list[str]]:
    """Références cadastrales « AB 123 », « AB123 » ou identifiant à 14 caractères → identifiants Etalab."""
    identifiants, illisibles = [], []
    for morceau in filter(None, (m.strip().upper() for m in re.split(r"[,;\n]", texte or ""))):
        identifiant = lire_reference_parcelle(morceau, code)
        if identifiant is None:
            illisibles.append(morceau)
        else:
            identifiants.append(identifiant)
    return identifiants, illisibles


# --------------------------------------------------------------------------------------- identification
# Une ligne de deux champs à la fois : sur un téléphone, les colonnes s'empilent dans l'ordre de lecture.
st.subheader("Identification")
types = lire_types_site()
gauche, droite = st.columns(2)
nom = gauche.text_input(libelle_saisie("nom"), key="saisie_nom", placeholder="ex. Cour de l'école Jules-Ferry")
type_site = droite.selectbox(libelle_saisie("type_site"), list(types), format_func=types.get, key="saisie_type")
if "saisie_statut" not in st.session_state:
    st.session_state["saisie_statut"] = "realisee"
gauche, droite = st.columns(2)
statut = gauche.selectbox(libelle_saisie("statut"), list(STATUTS), format_func=STATUTS.get, key="saisie_statut")
date_fin = droite.date_input(libelle_saisie("date_fin_travaux"), value=None, format="DD/MM/YYYY",
                             min_value=date(1990, 1, 1), max_value=date(2100, 12, 31), key="saisie_date")
gauche, droite = st.columns(2)
maitre_ouvrage = gauche.text_input(libelle_saisie("maitre_ouvrage"), key="saisie_mo",
                                   placeholder=f"ex. Ville de {noms[code]}")
contact = droite.text_input(libelle_saisie("contact"), key="saisie_contact")

def choisir_revetements(zones: gpd.GeoDataFrame, sources: list[str], cles: list[str], avants: list[str],
                        apres: list[str]) -> dict:
    """Une carte par zone : garder ou non, revêtement avant et après travaux. Aucun revêtement n'est choisi
    d'avance pour une zone nouvelle (choix obligatoire) ; une zone enregistrée garde les siens."""
    options = list(revetements.index)
    choix = {"avant": [], "apres": [], "garder": []}
    st.markdown("**Revêtements des zones** (avant et après travaux, obligatoires)")
    for rang, (source, cle, surface) in enumerate(zip(sources, cles, zones["surface_m2"])):
        connus = (avants[rang], apres[rang]) if rang < len(avants) else (None, None)
        with st.container(border=True):
            entete, case = st.columns([3, 1], vertical_alignment="center")
            entete.markdown(f"**{source}** · {formater_valeur('surface_zones', surface)}")
            choix["garder"].append(case.checkbox("Garder", value=True, key=f"saisie_garder_{cle}",
                                                 help="Décochez pour retirer la zone"))
            gauche, droite = st.columns(2)
            for colonne, moment, connu in ((gauche, "avant", connus[0]), (droite, "apres", connus[1])):
                choix[moment].append(colonne.selectbox(
                    f"Revêtement {'avant' if moment == 'avant' else 'après'} travaux", options,
                    index=options.index(connu) if connu in options else None, format_func=libelles_revetements.get,
                    placeholder=CHOISIR_REVETEMENT, key=f"saisie_{moment}_{cle}"))
    choix["garder"] = pd.Series(choix["garder"], dtype=bool).to_numpy()
    return choix


# --------------------------------------------------------------------------------------- zones
st.subheader("Zones")
st.caption("Dessinez chaque zone (pelouse, massif, enrobé conservé…) avec l'outil polygone, ou donnez des "
           "références cadastrales. Chaque zone reçoit ensuite son revêtement avant et après.")
commune_choisie = communes[communes["code_insee"] == code]
enregistrees = None
if edition is not None and edition["zones"]:
    enregistrees = gpd.GeoDataFrame(geometry=[z["geometrie"] for z in edition["zones"]], crs=CRS_STOCKAGE)
# En modification, la carte est cadrée sur les zones déjà enregistrées (marge de 30 m autour).
carte = construire_carte_saisie(
    commune_choisie,
    emprise=tuple(en_wgs84(en_lambert93(enregistrees).buffer(30)).total_bounds) if enregistrees is not None
    else None)
if enregistrees is not None:
    folium.GeoJson(enregistrees, name="Zones enregistrées",
                   style_function=lambda _: STYLE_ZONES_ENREGISTREES).add_to(carte)
# Parcelles et bâtiments de la commune, parcelles données par référence en évidence : couches changées sans
# recréer la carte (les dessins en cours restent).
cle_carte = f"saisie_carte_{code}_{edition['id'] if edition else jeton}"
contours, envoi, _ = commun.charger_contours_saisie(code, st.session_state.get(cle_carte))
# Parcelles données par référence (champ sous la carte : sa valeur est déjà dans l'état de session), retenues
# une fois pour la carte, les contrôles et les zones.
parcelles_ids, illisibles = lire_references(st.session_state.get("saisie_parcelles", ""))
parcelles = commun.charger_couche("parcelles")
retenues = parcelles[parcelles["id"].isin(parcelles_ids).to_numpy(bool) & parcelles["commune"].eq(code).to_numpy(bool)]
retour = st_folium(carte, height=460, use_container_width=True, key=cle_carte,
                   returned_objects=["all_drawings"] + (["zoom", "bounds"] if envoi != "commune" else []),
                   feature_group_to_add=construire_surimpression(contours, retenues))
st.caption(f"Fond : photographies aériennes ou plans (bouton des fonds en haut à gauche). Parcelles et bâtiments "
           f"affichés à partir du zoom {lire_fonds_carte()['surimpression']['zoom_min']} ; parcelles données "
           "par référence en rose.")
dessins = (retour or {}).get("all_drawings") or (st.session_state.get("saisie_dessins") or [])
st.text_input(libelle_saisie("parcelles"), key="saisie_parcelles", placeholder="ex. AB 123, AB124")
if illisibles:
    st.error(f"Références cadastrales illisibles : {', '.join(illisibles)}. Écrivez « AB 123 », « AB123 » ou "
             "l'identifiant à 14 caractères.")
if parcelles_ids:
    commun.signaler_couche_absente("parcelles", "les références cadastrales ne peuvent pas être retrouvées ; "
                                                "dessinez les zones sur la carte")
inconnues = sorted(set(parcelles_ids) - set(retenues["id"]))
if inconnues:
    st.error(f"Parcelles introuvables dans {noms[code]} : {', '.join(inconnues)}. Vérifiez la section et le numéro.")

# Zones enregistrées d'abord, puis les nouvelles ; ``cles`` : identité stable de chaque zone (ses choix de
# revêtement la suivent quand on en ajoute une autre).
geometries, sources, avants, apres, cles = [], [], [], [], []
for rang, zone in enumerate(edition["zones"] if edition is not None else [], start=1):
    geometries.append(zone["geometrie"])
    sources.append(f"Zone enregistrée {rang}")
    avants.append(zone["revetement_avant"])
    apres.append(zone["revetement_apres"])
    cles.append(f"z{zone['zone_id']}")
illisibles_dessins = 0
for rang, dessin in enumerate(dessins, start=1):
    try:
        geometrie = shape(dessin.get("geometry") or {})
    except (ValueError, AttributeError, TypeError):
        illisibles_dessins += 1
        continue
    geometries.append(geometrie)
    sources.append(f"Dessin {rang}")
    cles.append("d" + hashlib.sha1(geometrie.wkb).hexdigest()[:12])
deja_prises = set(edition["parcelles"] or []) if edition is not None and edition["zones"] else set()
for _, parcelle in retenues.iterrows():
    if parcelle["id"] in deja_prises:  # parcelle déjà transformée en zone lors de la saisie d'origine
        continue
    geometries.append(parcelle.geometry)
    sources.append(f"Parcelle {parcelle['section']} {parcelle['numero']}")
    cles.append(f"p{parcelle['id']}")
if illisibles_dessins:
    st.warning(f"{illisibles_dessins} dessin(s) illisible(s) ignoré(s) : redessinez-les.")

zones, erreurs_zones, approximative = None, [], False
if geometries:
    zones = gpd.GeoDataFrame({"source": sources}, geometry=geometries, crs=CRS_STOCKAGE)
    constats = controler_zones(zones, sources, commune_choisie.geometry.iloc[0], noms[code],
                               commun.charger_zones(), edition["id"] if edition is not None else None)
    erreurs_zones = [m for m in constats if m.niveau == "erreur"]
    for message in erreurs_zones:
        st.error(str(message))
    for message in (m for m in constats if m.niveau == "avertissement"):
        st.warning(str(message))
    mauvaises = {m.zone for m in erreurs_zones}
    surfaces = recalculer_surfaces(zones[~zones["source"].isin(mauvaises)])
    zones["surface_m2"] = surfaces.reindex(zones.index).round(1).to_numpy()
    choix = choisir_revetements(zones, sources, cles, avants, apres)
    zones["revetement_avant"], zones["revetement_apres"] = choix["avant"], choix["apres"]
    garder = choix["garder"]
    erreurs_zones = [m for m in erreurs_zones if garder[sources.index(m.zone)]]
    zones = zones[garder]
    # Une opération placée au centre de sa commune (import sans géométrie) cesse d'être « approximative »
    # dès que son carré provisoire est retiré au profit de zones réelles.
    approximative = bool(edition is not None and edition.get("localisation_approximative")
                         and garder[:len(avants)].any())
    if zones.empty:
        zones = None
        st.info("Toutes les zones sont retirées : une opération garde au moins une zone.")
else:
    st.info("Aucune zone pour l'instant : dessinez-en une ou saisissez une parcelle.")

# --------------------------------------------------------------------------------------- aperçu
manquants = [] if zones is None else [
    source for source, avant, apres_ in zip(zones["source"], zones["revetement_avant"], zones["revetement_apres"])
    if avant is None or apres_ is None]
if zones is not None:
    st.subheader("Aperçu")
    if manquants:
        st.info(f"Choisissez le revêtement avant et après travaux de : {', '.join(manquants)}. L'aperçu "
                "(surface désimperméabilisée, volume retenu, effet de chaleur local) s'affichera ensuite.",
                icon=":material/touch_app:")
    else:
        for message in decrire_compromis_zones(zones):  # compromis déclarés (compromis.csv) : pas des gains
            st.warning(message)
        estimation = commun.estimer_apercu(zones, revetements)
        score = estimation["score_chaleur"]
        apercu = st.columns(3)
        apercu[0].metric("Surface désimperméabilisée", formater_valeur("surface_desimpermeabilisee",
                                                                       estimation["surface_desimpermeabilisee"]))
        apercu[1].metric(libelle("volume_infiltre"), formater_valeur("volume_infiltre", estimation["volume_infiltre"]))
        apercu[2].metric("Effet de chaleur local", formater_valeur("delta_t_site", score["delta_t_site_c"]),
                         help=f"{libelle('delta_t_site')}, {score['libelle']}.")

# --------------------------------------------------------------------------------------- coûts et chiffres
st.subheader("Coûts et chiffres")
gauche, droite = st.columns(2)
cout = gauche.number_input(libelle_saisie("cout_ht_eur"), min_value=0.0, value=None, step=1000.0, format="%.0f",
                           key="saisie_cout")
arbres = droite.number_input(libelle_saisie("arbres_plantes"), min_value=0, step=1, key="saisie_arbres")
gauche, droite = st.columns(2)
stockage = gauche.number_input(libelle_saisie("volume_stockage_m3"), min_value=0.0, value=None, format="%.1f",
                               key="saisie_stockage")
declaree = droite.number_input(libelle_saisie("surface_declaree_m2"), min_value=0.0, value=None, format="%.0f",
                               key="saisie_declaree")
gauche, droite = st.columns(2)
vegetalisee = gauche.number_input(libelle_saisie("surface_vegetalisee_m2"), min_value=0.0, value=None,
                                 format="%.0f", key="saisie_vegetalisee")
deconnexion = st.checkbox(libelle_saisie("deconnexion_reseau"), key="saisie_deconnexion")
deja_financees = pd.DataFrame(edition["financements"] if edition is not None else [],
                              columns=["financeur", "montant_eur"])
financeurs_connus = sorted(set(lire_financeurs()) | set(commun.charger_financements()["financeur"].dropna())
                           | set(deja_financees["financeur"]))
st.markdown("**Financements** (une ligne par financeur ; montant de l'aide en € HT)")
financements = st.data_editor(
    pd.DataFrame({"Financeur": deja_financees["financeur"].astype(str),
                  "Montant (€)": deja_financees["montant_eur"].astype(float)}),
    num_rows="dynamic", hide_index=True, width="stretch", key=f"saisie_financements_{jeton}",
    column_config={"Financeur": st.column_config.SelectboxColumn(options=financeurs_connus),
                   "Montant (€)": st.column_config.NumberColumn(min_value=0.0)})
description = st.text_area(libelle_saisie("description"), key="saisie_description")
retour_experience = st.text_area(libelle_saisie("retour_experience"), key="saisie_rex")

# --------------------------------------------------------------------------------------- photos
st.subheader("Photos")
photos_gardees = []
if edition is not None and edition["photos"]:
    photos_gardees = st.multiselect(
        "Photos déjà enregistrées (retirez celles à supprimer)", edition["photos"], default=edition["photos"],
        format_func=lambda p: f"{MOMENTS_PHOTO[p['moment']]} · {p['legende'] or p['chemin']}",
        key="saisie_photos_gardees", placeholder=commun.CHOISIR)
photos = st.file_uploader("Nouvelles photos avant / après (JPEG ou PNG, 10 Mo au plus chacune)",
                          type=["jpg", "jpeg", "png"],
                          accept_multiple_files=True, key=f"saisie_photos_{jeton}")
moments = {photo.name: st.radio(f"« {echapper_markdown(photo.name)} »", ["avant", "apres"], horizontal=True,
                                format_func={"avant": "Avant", "apres": "Après"}.get, key=f"moment_{photo.name}")
           for photo in photos or []}


def enregistrer() -> None:
    """Crée ou modifie l'opération avec les droits du compte ; photos retirées si l'écriture est refusée.

    Une création porte le jeton du formulaire : un second clic (ou une relance) ne crée pas de doublon."""
    if manquants:
        st.error(f"Enregistrement refusé : choisissez le revêtement avant et après travaux de chaque zone "
                 f"({', '.join(manquants)}), dans « Revêtements des zones ».")
        return
    lignes = financements.dropna(how="any")
    operation = {
        "code_insee": code, "nom": nom, "type_site": type_site, "statut": statut,
        "date_fin_travaux": date_fin, "maitre_ouvrage": maitre_ouvrage or None, "description": description or None,
        "retour_experience": retour_experience or None, "contact": contact or None, "cout_ht_eur": cout,
        "arbres_plantes": int(arbres), "deconnexion_reseau": deconnexion, "volume_stockage_m3": stockage,
        "surface_declaree_m2": declaree, "surface_vegetalisee_m2": vegetalisee, "parcelles": list(retenues["id"]),
        "localisation_approximative": approximative,
        "zones": [{"geometrie": g, "revetement_avant": a, "revetement_apres": p}
                  for g, a, p in zip(zones.geometry, zones["revetement_avant"], zones["revetement_apres"])],
        "financements": [{"financeur": f, "montant_eur": float(m)} for f, m in
                         zip(lignes["Financeur"], lignes["Montant (€)"])],
    }
    deposees = [commun.PhotoDeposee(photo.getvalue(), photo.name, moments[photo.name]) for photo in photos or []]
    # Modification : le magasin refuserait le second envoi d'un double clic (version déjà passée) ; le
    # formulaire déjà enregistré dans cette session (même jeton) rend la réussite du premier envoi.
    traites = st.session_state.setdefault("envois_saisie_traites", {})
    try:
        if edition is not None and jeton in traites:
            ident, message = traites[jeton]
        else:
            ident, message = commun.enregistrer_saisie(operation, deposees, photos_gardees, edition,
                                                       version_ouverte if edition is not None else None,
                                                       jeton if edition is None else None)
            traites[jeton] = (ident, message)
    except ErreurDonnees as erreur:  # photos de la saisie refusée déjà retirées par le service
        if isinstance(erreur, commun.ConflitVersion):
            st.session_state["saisie_conflit"] = str(erreur)
            st.rerun()
        else:
            st.error(str(erreur))
        return
    # Formulaire vide (nouveau jeton, dessins effacés : la carte est recréée sous une autre clé).
    demander_vidage(garder_commune=edition is None)
    st.session_state["saisie_reussite"] = {"id": ident, "message": message}
    st.toast(message, icon=":material/check_circle:")
    if edition is not None:
        st.query_params.clear()
    st.rerun()


if st.session_state.get("saisie_conflit"):
    st.error(st.session_state["saisie_conflit"])
    if st.button("Recharger la version enregistrée (vos changements non enregistrés seront perdus)",
                 icon=":material/refresh:"):
        demander_vidage()
        st.rerun()
    st.stop()
libelle_bouton = "Enregistrer les modifications" if edition is not None else "Enregistrer l'opération"
en_cours = bool(st.session_state.pop("saisie_envoi", False)) and zones is not None and not erreurs_zones
zone_bouton = st.empty()
if en_cours:
    # Le clic a marqué l'envoi avant la relance : pendant l'enregistrement, le bouton est désactivé.
    zone_bouton.button(libelle_bouton, type="primary", icon=":material/save:", disabled=True,
                       key="bouton_enregistrer_en_cours")
    with st.spinner("Enregistrement…"):
        enregistrer()  # réussite : relance ; refus : message, et le bouton redevient cliquable
zone_bouton.button(libelle_bouton, type="primary", icon=":material/save:", key="bouton_enregistrer_saisie",
                   disabled=zones is None or bool(erreurs_zones),
                   on_click=lambda: st.session_state.update(saisie_envoi=True),
                   help="Corrigez d'abord les zones signalées en rouge." if erreurs_zones else None)
