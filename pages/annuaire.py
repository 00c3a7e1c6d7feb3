"""Page « Annuaire » (issue 16, partie 4) : les membres qui ont consenti à y figurer (nom, rôle et communes du compte ;
fonction, coordonnées, présentation et sujets qu'ils ont choisi de montrer), recherche et filtres ; « Ma fiche »
(consentement explicite, champs, retrait) ; pairs des autres territoires de l'instance. Réservée aux membres connectés
(droits vérifiés par la façade) ; le syndicat y masque ou rétablit une fiche."""

import streamlit as st

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_horodatage
from donnees.magasin.annuaire import lire_parametres_annuaire, lire_sujets_annuaire
from donnees.nomenclatures import ROLES
from pages import commun
from services.annuaire import lire_pairs_instance
from vues.annuaire import decrire_coordonnees, decrire_membre, decrire_sujets
from vues.format import echapper_markdown

SECTIONS = ["Membres", "Ma fiche", "Pairs des autres territoires"]
TOUS = ""

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee("Annuaire", facade.peut("lire_annuaire"),
                            "L'annuaire des membres est réservé aux membres connectés", "annuaire_message")
st.caption("Les membres qui ont accepté d'y figurer : nom, rôle et communes viennent de leur compte ; fonction, "
           "coordonnées, présentation et sujets seulement s'ils les ont remplis. Le public ne voit pas l'annuaire.")
noms = commun.noms_communes()
sujets = lire_sujets_annuaire()
sections = SECTIONS if commun.plusieurs_territoires() else SECTIONS[:2]
if st.query_params.get("section") == "ma-fiche":  # lien « Ma fiche » de la page Connexion
    st.session_state["annuaire_section"] = "Ma fiche"
    st.query_params.pop("section", None)
section = st.segmented_control("Section", sections, default=sections[0], key="annuaire_section",
                               label_visibility="collapsed") or sections[0]


def afficher_fiche(fiche: dict, moderation: bool = False, territoire: str | None = None) -> None:
    """Une fiche : membre, coordonnées consenties, sujets, présentation (en texte) ; modération pour le syndicat."""
    with st.container(border=True):
        st.markdown(decrire_membre(fiche, noms if territoire is None else fiche.get("noms_communes") or {})
                    + (f" · {echapper_markdown(territoire)}" if territoire else ""))
        coordonnees = decrire_coordonnees(fiche)
        if coordonnees:
            st.markdown(coordonnees)
        if fiche.get("sujets"):
            st.caption(f"Sujets : {decrire_sujets(fiche['sujets'], sujets)}")
        if fiche.get("presentation"):
            st.text(fiche["presentation"])
        if not moderation:
            return
        ident = int(fiche["id"])
        if fiche.get("masquee"):
            st.warning(f"Fiche masquée par le syndicat : {echapper_markdown(fiche.get('motif_masquage'))}",
                       icon=":material/visibility_off:")
            if st.button("Rétablir cette fiche", key=f"annuaire_retablir_{ident}", icon=":material/visibility:"):
                commun.executer_ecriture(lambda: facade.restaurer_fiche_annuaire(ident), "Fiche rétablie.",
                                         "annuaire_message")
        else:
            with st.expander("Modérer"):
                motif = st.text_input("Motif du masquage", key=f"annuaire_motif_{ident}",
                                      max_chars=lire_parametres_annuaire()["longueur_max_motif"])
                if st.button("Masquer cette fiche", key=f"annuaire_masquer_{ident}",
                             icon=":material/visibility_off:"):
                    commun.executer_ecriture(lambda: facade.masquer_fiche_annuaire(ident, motif), "Fiche masquée.",
                                             "annuaire_message")


def afficher_membres() -> None:
    """Recherche, filtres (rôle, commune, sujet) et fiches consenties."""
    recherche = st.text_input("Rechercher un nom, une commune, un sujet", key="annuaire_recherche")
    gauche, milieu, droite = st.columns(3)
    role = gauche.selectbox("Rôle", [TOUS, *ROLES], format_func=lambda r: ROLES.get(r, "Tous"), key="annuaire_role")
    commune = milieu.selectbox("Commune", [TOUS, *sorted(noms, key=noms.get)],
                               format_func=lambda c: noms.get(c, "Toutes"), key="annuaire_commune")
    sujet = droite.selectbox("Sujet", [TOUS, *sujets], format_func=lambda s: sujets.get(s, "Tous"),
                             key="annuaire_sujet")
    fiches = facade.lire_annuaire(recherche, role or None, commune or None, sujet or None)
    moderation = facade.peut("moderer_annuaire")
    if fiches.empty:
        st.info("Aucun membre ne correspond. L'annuaire ne montre que les membres qui ont accepté d'y figurer : "
                "ajoutez votre fiche dans « Ma fiche ».", icon=":material/person_search:")
        return
    st.caption(f"{len(fiches)} membre(s).")
    for fiche in fiches.to_dict("records"):
        afficher_fiche(fiche, moderation)


def afficher_ma_fiche() -> None:
    """Consentement explicite, champs facultatifs, retrait."""
    actuelle = facade.lire_ma_fiche() or {}
    parametres = lire_parametres_annuaire()
    if actuelle:
        st.success(f"Votre fiche figure dans l'annuaire depuis le {formater_horodatage(actuelle['consenti_le'])}."
                   + (" Elle est masquée par le syndicat." if actuelle.get("masquee") else ""),
                   icon=":material/badge:")
    else:
        st.info("Vous ne figurez pas dans l'annuaire. Votre nom, votre rôle et vos communes (ceux de votre compte) "
                "n'y apparaîtront qu'avec votre accord, et seulement pour les membres connectés.",
                icon=":material/badge:")
    with st.form("annuaire_ma_fiche"):
        consentement = st.checkbox(
            "J'accepte de figurer dans l'annuaire des membres : mon nom, mon rôle, mes communes et les champs que "
            "je remplis ci-dessous seront lus par les membres connectés (jamais par le public).",
            value=bool(actuelle), key="annuaire_consentement")
        fonction = st.text_input("Fonction ou poste (facultatif)", value=actuelle.get("fonction") or "",
                                 max_chars=parametres["longueur_max_fonction"], key="annuaire_fonction")
        telephone = st.text_input("Téléphone professionnel (facultatif)", value=actuelle.get("telephone") or "",
                                  key="annuaire_telephone")
        email_visible = st.checkbox("Montrer mon adresse électronique", value=bool(actuelle.get("email_visible")),
                                    key="annuaire_email_visible")
        presentation = st.text_area("Présentation courte (facultatif)", value=actuelle.get("presentation") or "",
                                    max_chars=parametres["longueur_max_presentation"], key="annuaire_presentation")
        choisis = st.multiselect("Sujets de compétence", list(sujets), default=actuelle.get("sujets") or [],
                                 format_func=sujets.get, max_selections=parametres["nombre_max_sujets"],
                                 key="annuaire_sujets", placeholder=commun.CHOISIR)
        autres = st.checkbox("Visible aussi des membres des autres territoires de l'instance",
                             value=bool(actuelle.get("visible_autres_territoires")),
                             key="annuaire_autres_territoires")
        envoye = st.form_submit_button("Enregistrer ma fiche", type="primary", icon=":material/save:")
    if envoye:
        commun.executer_ecriture(
            lambda: facade.enregistrer_ma_fiche(consentement, fonction=fonction, telephone=telephone,
                                                email_visible=email_visible, presentation=presentation,
                                                sujets=choisis, visible_autres_territoires=autres),
            "Fiche enregistrée : elle figure dans l'annuaire.", "annuaire_message")
    if actuelle and st.button("Retirer ma fiche de l'annuaire", icon=":material/person_remove:",
                              key="annuaire_retirer",
                              help="Votre fiche disparaît aussitôt de l'annuaire et ses champs sont effacés."):
        commun.executer_ecriture(facade.retirer_ma_fiche,
                                 "Fiche retirée : vous ne figurez plus dans l'annuaire, ses champs sont effacés.",
                                 "annuaire_message")


def afficher_autres_territoires() -> None:
    """Fiches des autres territoires de l'instance visibles hors de leur territoire."""
    st.caption("Membres des autres territoires de l'instance qui ont choisi d'être visibles au-delà du leur.")
    try:
        fiches, erreurs = lire_pairs_instance(commun.utilisateur_courant(), commun.lister_territoires_instance(),
                                              commun.territoire_courant().code)
    except ErreurDonnees as erreur:
        st.error(str(erreur))
        return
    for erreur in erreurs:
        st.warning(erreur)
    if fiches.empty:
        st.info("Aucun membre des autres territoires n'a choisi d'être visible ici.", icon=":material/public:")
        return
    for fiche in fiches.to_dict("records"):
        afficher_fiche(fiche, territoire=fiche["nom_territoire"])


if section == "Ma fiche":
    afficher_ma_fiche()
elif section == "Pairs des autres territoires":
    afficher_autres_territoires()
else:
    afficher_membres()
