"""Page « Agenda » de la communauté de pratiques (issue 16, partie 3) : événements à venir et passés du territoire
et ceux que les autres territoires partagent, carte des lieux, fiche d'un événement (sujet, lieu, opérations liées,
places, inscription, ``.ics``), proposition, modification et annulation pour qui en a le droit, inscrits pour le
syndicat et l'auteur, lien du flux abonnable. Lisible par le public ; les droits sont vérifiés par la façade ; les
textes des membres sont affichés comme du texte (``st.text`` ou échappés)."""

from datetime import date, time, timedelta

import pandas as pd
import streamlit as st

from donnees.agenda import (
    STATUTS_EVENEMENT,
    decrire_horaire,
    formater_heure_paris,
    lire_genres_evenement,
    lire_parametres_agenda,
    utc_vers_paris,
)
from donnees.erreurs import ErreurDonnees
from donnees.magasin.notifications import extraire
from pages import commun, ressources_communs
from pages.vues_en_cache import afficher_carte
from services import agenda as service_agenda
from vues.agenda import construire_carte_agenda, construire_carte_choix_point
from vues.format import echapper_markdown

CLE_MESSAGE = "agenda_message"
SECTIONS = ("À venir", "Passés")
MODES_POINT = ("Aucun point", "Au centre d'une commune", "Clic sur la carte")

facade = commun.obtenir_facade()
st.title("Agenda")
message = st.session_state.pop(CLE_MESSAGE, None)
if message:
    st.success(message)
genres = lire_genres_evenement()
parametres = lire_parametres_agenda()
nom_territoire = str(commun.charger_territoire().get("nom") or "Désimper")
agenda = service_agenda.lire_agenda(facade)
evenements = agenda.evenements
for avertissement in agenda.avertissements:
    st.caption(echapper_markdown(avertissement))

flux = service_agenda.lire_url_flux()
if flux:
    st.caption(f"S'abonner à l'agenda dans votre calendrier (Thunderbird, Outlook, téléphone) : [flux iCalendar]"
               f"({flux.replace(')', '%29')}) — adresse à copier dans « S'abonner à un calendrier ».")


def horaire(ligne) -> str:
    return decrire_horaire(ligne["debut"], ligne["fin"])


def decrire(ligne) -> str:
    """Ligne de tête d'un événement : genre, horaire (Paris), lieu, statut, territoire d'origine (échappés)."""
    lieu = "en ligne" if ligne.get("en_ligne") else ligne.get("lieu")
    morceaux = [genres.get(ligne["genre"], ligne["genre"]), horaire(ligne), lieu if isinstance(lieu, str) else None]
    if isinstance(ligne.get("territoire"), str) and ligne["territoire"]:
        morceaux.append(f"territoire {ligne['territoire']} (partagé)")
    textes = [echapper_markdown(m) for m in morceaux if m]  # textes des membres : jamais interprétés
    if ligne["statut"] == "annule":
        textes.append("**annulé**")
    return " · ".join(textes)


def places(ligne) -> str:
    inscrits = int(ligne["nombre_inscrits"])
    maximum = ligne.get("places_max")
    if maximum is None or pd.isna(maximum):
        return f"{inscrits} inscrit(s)"
    return f"{inscrits} inscrit(s) sur {int(maximum)} place(s)"


# ------------------------------------------------------------------------------------ formulaire


def formulaire_evenement(cle: str, actuel: dict | None = None) -> dict | None:
    """Champs d'un événement (date et heure de Paris, durée, lieu et point, opérations liées) ; renvoie
    ``{"saisie", "liens"}`` au clic sur le bouton, sinon None. Les contrôles sont ceux du magasin."""
    actuel = actuel or {}
    codes = list(genres)
    genre = st.selectbox("Genre", codes, index=codes.index(actuel["genre"]) if actuel.get("genre") in codes else 0,
                         format_func=genres.get, key=f"{cle}_genre")
    titre = st.text_input("Titre", value=actuel.get("titre") or "", max_chars=parametres["longueur_max_titre"],
                          key=f"{cle}_titre")
    sujet = st.text_area("Sujet, programme", value=actuel.get("sujet") or "",
                         max_chars=parametres["longueur_max_sujet"], key=f"{cle}_sujet")
    debut_paris = utc_vers_paris(actuel["debut"]) if actuel.get("debut") is not None else None
    colonnes = st.columns(3)
    jour = colonnes[0].date_input("Date (heure de Paris)", value=debut_paris.date() if debut_paris
                                  else date.today() + timedelta(days=14), format="DD/MM/YYYY", key=f"{cle}_jour")
    heure = colonnes[1].time_input("Heure de début", value=debut_paris.time().replace(tzinfo=None) if debut_paris
                                   else time(9, 30), step=timedelta(minutes=15), key=f"{cle}_heure")
    duree_actuelle = int((pd.Timestamp(actuel["fin"]) - pd.Timestamp(actuel["debut"])).total_seconds() // 60) \
        if actuel.get("debut") is not None else parametres["duree_defaut_minutes"]
    duree = colonnes[2].number_input("Durée (minutes)", min_value=15, max_value=parametres["duree_max_jours"] * 1440,
                                     value=duree_actuelle, step=15, key=f"{cle}_duree")
    en_ligne = st.checkbox("En ligne (visioconférence)", value=bool(actuel.get("en_ligne")), key=f"{cle}_en_ligne")
    lieu = st.text_input("Lieu (salle, adresse)" + (" — facultatif" if en_ligne else ""),
                         value=actuel.get("lieu") or "", max_chars=parametres["longueur_max_lieu"], key=f"{cle}_lieu")
    url = st.text_input("Adresse de la visioconférence ou de la page de l'événement (https://…)",
                        value=actuel.get("url") or "", max_chars=parametres["longueur_max_url"], key=f"{cle}_url")
    point = None
    if not en_ligne:
        deja = (actuel["longitude"], actuel["latitude"]) if actuel.get("longitude") is not None else None
        mode = st.radio("Point sur la carte", MODES_POINT, index=2 if deja else 0, horizontal=True,
                        key=f"{cle}_mode_point")
        if mode == MODES_POINT[1]:
            noms = commun.noms_communes()
            code = st.selectbox("Commune", sorted(noms, key=noms.get), format_func=commun.nommer_commune,
                                key=f"{cle}_commune")
            try:
                point = service_agenda.situer_commune(code)
            except ErreurDonnees as erreur:
                st.error(str(erreur))
        elif mode == MODES_POINT[2]:
            from streamlit_folium import st_folium

            cle_point = f"{cle}_point"
            choisi = st.session_state.get(cle_point, deja)
            retour = st_folium(construire_carte_choix_point(commun.charger_couche("communes"), choisi), height=360,
                               use_container_width=True, key=f"{cle}_carte", returned_objects=["last_clicked"])
            clic = (retour or {}).get("last_clicked")
            if clic:
                choisi = (round(float(clic["lng"]), 6), round(float(clic["lat"]), 6))
                st.session_state[cle_point] = choisi
            point = choisi
            st.caption("Cliquez le lieu sur la carte." if point is None
                       else f"Point choisi : {point[1]:.5f} N, {point[0]:.5f} E.")
    colonnes = st.columns(2)
    places_max = colonnes[0].number_input("Places (0 : sans limite)", min_value=0,
                                          max_value=parametres["places_max_plafond"],
                                          value=int(actuel.get("places_max") or 0), step=1, key=f"{cle}_places")
    partage = colonnes[1].checkbox("Partager avec les autres territoires de l'instance",
                                   value=bool(actuel.get("partage_territoires")), key=f"{cle}_partage")
    operations = commun.charger_operations()
    choix = {int(i): f"n° {int(i)} · {n}" for i, n in zip(operations["id"], operations["nom"])}
    liees = [o["id"] for o in actuel.get("operations", []) if o["id"] in choix]
    operation_ids = st.multiselect("Opérations liées (visites, exemples)", list(choix), default=liees,
                                   format_func=choix.get, key=f"{cle}_operations", placeholder=commun.CHOISIR)
    ressources = facade.lire_ressources()
    titres = {int(i): str(t) for i, t in zip(ressources["id"], ressources["titre"])}
    ressources_liees = st.multiselect("Ressources liées (guides, fiches, supports)", list(titres),
                                      default=[r["id"] for r in actuel.get("ressources", []) if r["id"] in titres],
                                      format_func=titres.get, key=f"{cle}_ressources", placeholder=commun.CHOISIR)
    libelle = "Enregistrer les modifications" if actuel else "Proposer l'événement"
    if not st.button(libelle, type="primary", key=f"{cle}_envoyer", icon=":material/event_available:"):
        return None
    try:
        debut, fin = service_agenda.preparer_horaire(jour, heure, int(duree))
    except ErreurDonnees as erreur:
        st.error(str(erreur))
        return None
    saisie = {"genre": genre, "titre": titre, "sujet": sujet, "debut": debut, "fin": fin, "en_ligne": en_ligne,
              "lieu": lieu, "url": url or None, "places_max": int(places_max) or None, "partage_territoires": partage,
              "longitude": point[0] if point else None, "latitude": point[1] if point else None}
    return {"saisie": saisie, "liens": {"operation": [int(i) for i in operation_ids],
                                        "ressource": [int(i) for i in ressources_liees]}}


# ------------------------------------------------------------------------------------ fiche


def afficher_fiche(evenement_id: int) -> None:
    """Fiche d'un événement du territoire, avec les actions permises à l'utilisateur."""
    try:
        evenement = facade.lire_evenement(evenement_id)
    except ErreurDonnees as erreur:
        st.info(str(erreur))
        return
    st.subheader(echapper_markdown(evenement["titre"]), anchor="evenement")
    st.caption(decrire(evenement))
    if evenement["statut"] == "annule":
        st.warning(f"Événement annulé. Motif : {echapper_markdown(evenement.get('motif_annulation'))}")
    if evenement.get("sujet"):
        st.text(evenement["sujet"])
    if evenement.get("lieu"):
        st.markdown("**Lieu**")
        st.text(evenement["lieu"])
    if evenement.get("url"):
        st.link_button("Ouvrir le lien de l'événement", evenement["url"], icon=":material/link:")
    if evenement["operations"]:
        st.markdown("**Opérations liées**")
        for operation in evenement["operations"]:
            st.page_link("pages/fiche.py", label=f"n° {operation['id']} · {operation['nom']}",
                         icon=":material/description:", query_params={"id": str(operation["id"])})
    if evenement.get("ressources"):
        st.markdown("**Ressources liées**")
        for ressource in evenement["ressources"]:
            titre = echapper_markdown(ressource["titre"])
            st.page_link(ressources_communs.PAGE, icon=":material/menu_book:", help=titre,
                         label=echapper_markdown(extraire(ressource["titre"], ressources_communs.LONGUEUR_MAX_LIEN)),
                         query_params={"id": str(ressource["id"])})
    st.markdown(f"**Inscriptions** : {places(evenement)}")
    passe = pd.Timestamp(evenement["debut"]) <= pd.Timestamp(service_agenda.maintenant_utc())
    if facade.peut("inscrire_evenement"):
        if evenement["inscrit"]:
            st.success("Vous êtes inscrit à cet événement.", icon=":material/how_to_reg:")
            if not passe and st.button("Me désinscrire", key=f"agenda_desinscrire_{evenement_id}",
                                       icon=":material/person_remove:"):
                commun.executer_ecriture(lambda: facade.se_desinscrire(evenement_id), "Désinscription enregistrée.",
                                         CLE_MESSAGE)
        elif evenement["statut"] == "prevu" and not passe:
            if st.button("M'inscrire", type="primary", key=f"agenda_inscrire_{evenement_id}",
                         icon=":material/person_add:"):
                commun.executer_ecriture(lambda: facade.s_inscrire(evenement_id),
                                         "Inscription enregistrée : ajoutez l'événement à votre calendrier (.ics).",
                                         CLE_MESSAGE)
    else:
        st.caption("L'inscription est réservée aux membres connectés (page Connexion).")
    if evenement["inscrit"] or not facade.peut("inscrire_evenement"):
        nom_fichier, contenu = service_agenda.construire_ics_evenement(facade, evenement_id, nom_territoire)
        commun.telecharger("Ajouter à mon calendrier (.ics)", contenu, nom_fichier, "text/calendar",
                           icon=":material/calendar_add_on:", key=f"agenda_ics_{evenement_id}")
    if facade.peut_tenir_evenement(evenement):
        inscrits = facade.lire_inscrits(evenement_id)
        with st.expander(f"Inscrits ({len(inscrits)})"):
            commun.afficher_tableau(pd.DataFrame({
                "Nom": inscrits["nom"].astype(str).to_numpy(), "Adresse": inscrits["email"].astype(str).to_numpy(),
                "Inscrit le": [formater_heure_paris(v) for v in inscrits["inscrit_le"]]}))
        if evenement["statut"] == "prevu":
            with st.expander("Modifier l'événement"):
                envoi = formulaire_evenement(f"agenda_modifier_{evenement_id}", evenement)
                if envoi is not None:
                    commun.executer_ecriture(
                        lambda: facade.modifier_evenement(evenement_id, envoi["saisie"], envoi["liens"]),
                        "Événement modifié (les inscrits sont prévenus d'un changement d'horaire).", CLE_MESSAGE)
            with st.expander("Annuler l'événement"):
                motif = st.text_input("Motif (obligatoire, envoyé aux inscrits)", key=f"agenda_motif_{evenement_id}",
                                      max_chars=parametres["longueur_max_motif"])
                if st.button("Annuler l'événement", key=f"agenda_annuler_{evenement_id}", icon=":material/event_busy:"):
                    commun.executer_ecriture(lambda: facade.annuler_evenement(evenement_id, motif),
                                             "Événement annulé ; les inscrits sont prévenus.", CLE_MESSAGE)


# ------------------------------------------------------------------------------------ page

if facade.peut("proposer_evenement"):
    with st.expander("Proposer un événement", icon=":material/add:"):
        envoi = formulaire_evenement("agenda_nouveau")
        if envoi is not None:
            def creer():
                return facade.creer_evenement(envoi["saisie"], envoi["liens"])

            try:
                ident = creer()
            except ErreurDonnees as erreur:
                st.error(str(erreur))
            else:
                commun.oublier_revision()
                st.session_state[CLE_MESSAGE] = "Événement proposé : les membres du territoire en sont notifiés."
                st.query_params["id"] = str(ident)
                st.rerun()

propres = evenements[evenements["territoire"].isna().to_numpy(bool)] if len(evenements) else evenements
demande = commun.lire_identifiant_url("id")
if demande is not None and len(propres) and demande in set(propres["id"].astype(int)):
    with st.container(border=True):
        afficher_fiche(demande)
        if st.button("Fermer la fiche", key="agenda_fermer", icon=":material/close:"):
            del st.query_params["id"]
            st.rerun()

if evenements.empty:
    st.info("Aucun événement à l'agenda pour l'instant." + (" Proposez-en un ci-dessus."
                                                            if facade.peut("proposer_evenement") else ""),
            icon=":material/event:")
    st.stop()

a_venir, passes = service_agenda.separer_a_venir(evenements)
section = st.segmented_control("Événements", SECTIONS, default=SECTIONS[0], key="agenda_section",
                               label_visibility="collapsed") or SECTIONS[0]
affiches = a_venir if section == SECTIONS[0] else passes
st.caption(f"{len(a_venir)} à venir, {len(passes)} passé(s). Heures de Paris.")

communes = commun.charger_couche("communes")
points = affiches.assign(horaire=[horaire(ligne) for _, ligne in affiches.iterrows()])
if len(points) and points["longitude"].notna().any():
    cle_carte = ("agenda", section, tuple(zip(points["id"].astype(int), points["sequence"].astype(int),
                                              points["territoire"].fillna("").astype(str))),
                 commun.cle_donnees_affichees())
    afficher_carte(cle_carte, lambda: construire_carte_agenda(communes, points), key=f"carte_agenda_{section}",
                   height=360, returned_objects=[])

if affiches.empty:
    st.caption("Aucun événement dans cette section.")
for _, ligne in affiches.iterrows():
    with st.container(border=True):
        st.markdown(f"**{echapper_markdown(ligne['titre'])}**")
        st.caption(decrire(ligne))
        st.caption(places(ligne) + ("" if not ligne.get("inscrit") else " · vous êtes inscrit"))
        partage = isinstance(ligne.get("territoire"), str) and bool(ligne["territoire"])
        if partage:
            if isinstance(ligne.get("sujet"), str) and ligne["sujet"]:
                st.text(ligne["sujet"])
            st.caption("Événement d'un autre territoire : inscription auprès de ce territoire.")
        elif st.button("Voir la fiche", key=f"agenda_voir_{int(ligne['id'])}", icon=":material/open_in_full:"):
            st.query_params["id"] = str(int(ligne["id"]))
            st.rerun()
st.caption(f"Statuts : {', '.join(STATUTS_EVENEMENT.values()).lower()} ; un événement annulé reste affiché avec "
           "son motif.")
