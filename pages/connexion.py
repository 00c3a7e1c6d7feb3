"""Page « Connexion » : ouvrir ou fermer sa session (comptes locaux, mot de passe haché argon2)."""

import streamlit as st

from donnees.comptes import ErreurAuthentification, authentifier
from donnees.droits import est_public
from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import ROLES, lire_frequences_courriel
from pages import commun
from vues.tableaux import tableau_sessions

utilisateur = commun.utilisateur_courant()
st.title("Connexion")


def afficher_a_corriger() -> None:
    """Opérations de ses communes que le syndicat demande de corriger, avec son commentaire."""
    a_corriger = commun.lire_a_corriger()
    if a_corriger.empty:
        return
    st.warning(f"**{len(a_corriger)} opération(s) à corriger** : le syndicat de bassin demande une correction.",
               icon=":material/edit_note:")
    # Liste repliée au-delà de quelques opérations : le reste de la page (préférences, sessions) reste visible.
    repliee = len(a_corriger) > commun.NOMBRE_MAX_LISTE_DEPLIEE
    cadre = st.expander("Voir les opérations à corriger") if repliee else st.container()
    for operation in a_corriger.sort_values("id").to_dict("records"):
        with cadre, st.container(border=True):
            st.markdown(f"**n° {operation['id']} · {commun.echapper_markdown(operation['nom'])}**")
            commentaire = operation.get("commentaire_validation")
            st.text(f"Commentaire du syndicat : {commentaire}" if isinstance(commentaire, str) and commentaire
                    else "Commentaire du syndicat : (aucun)")
            st.page_link("pages/saisie.py", label="Corriger l'opération", icon=":material/edit:",
                         query_params={"id": str(int(operation["id"]))})


def afficher_a_valider() -> None:
    """Pour le syndicat : lien vers la file des opérations à valider, avec leur nombre."""
    if not commun.obtenir_facade().peut("valider"):
        return
    nombre = len(commun.lire_a_valider())
    st.page_link("pages/a_valider.py", label=f"À valider ({nombre}) : opérations soumises par les communes",
                 icon=":material/fact_check:")



def afficher_mes_sessions() -> None:
    """Sessions ouvertes du compte (cette session marquée) et fermeture des autres (autres navigateurs, postes)."""
    sessions = commun.lister_mes_sessions()
    autres = sum(not s["courante"] for s in sessions)
    message = st.session_state.pop("message_autres_sessions", None)
    if message:
        st.success(message, icon=":material/devices:")
    with st.expander(f"Mes sessions ouvertes ({len(sessions)})"):
        st.dataframe(tableau_sessions(sessions), hide_index=True, width="stretch")
        if st.button("Fermer mes autres sessions", icon=":material/devices_off:", disabled=not autres,
                     help="Déconnecte vos autres navigateurs et postes ; cette session reste ouverte."):
            nombre = commun.fermer_mes_autres_sessions()
            st.session_state["message_autres_sessions"] = f"{nombre} autre(s) session(s) fermée(s)."
            st.rerun()


def afficher_desabonnement(jeton: str) -> None:
    """Lien « Ne plus recevoir de résumé » d'un courriel : confirmation par un bouton (un robot qui suit les liens
    d'un courriel ne désabonne personne), sans connexion."""
    with st.container(border=True):
        st.markdown("**Résumés des notifications par courriel**")
        if st.button("Confirmer : ne plus recevoir de résumé par courriel", icon=":material/unsubscribe:",
                     key="desabonnement"):
            try:
                adresse = commun.obtenir_facade().desabonner_courriel(jeton)
            except ErreurDonnees as erreur:
                st.error(str(erreur))
            else:
                st.query_params.pop("desabonner", None)
                st.success(f"Plus aucun résumé ne sera envoyé à {commun.echapper_markdown(adresse)}. Les "
                           "notifications restent visibles dans l'application ; vous pouvez rétablir un résumé "
                           "une fois connecté.", icon=":material/mark_email_read:")


def afficher_resume_courriel() -> None:
    """Fréquence du résumé des notifications par courriel du compte connecté."""
    frequences = lire_frequences_courriel()
    actuelle = commun.obtenir_facade().lire_preference_courriel()["frequence"]
    choix = st.radio("Résumé de mes notifications par courriel", list(frequences),
                     index=list(frequences).index(actuelle) if actuelle in frequences else 0,
                     format_func=lambda code: frequences[code][0], horizontal=True, key="frequence_courriel",
                     help="Un courriel regroupe les notifications non lues depuis le résumé précédent ; chaque "
                          "courriel porte un lien de désabonnement.")
    if choix != actuelle:
        commun.executer_ecriture(lambda: commun.obtenir_facade().ecrire_preference_courriel(choix),
                                 f"Résumé par courriel : {frequences[choix][0].lower()}.", "message_courriel")
    message = st.session_state.pop("message_courriel", None)
    if message:
        st.success(message, icon=":material/mail:")


jeton_desabonnement = st.query_params.get("desabonner")
if jeton_desabonnement:
    afficher_desabonnement(jeton_desabonnement)

message = st.session_state.pop("message_session", None)
if message:
    st.warning(message, icon=":material/logout:")

if not est_public(utilisateur):
    st.success(f"Connecté : **{commun.echapper_markdown(utilisateur.nom)}** "
               f"({commun.echapper_markdown(utilisateur.email)}) — "
               f"{ROLES.get(utilisateur.role, utilisateur.role)}"
               + (f", communes : {commun.echapper_markdown(commun.nommer_communes(utilisateur.communes))}"
                  if utilisateur.communes else ""))
    afficher_resume_courriel()
    if commun.obtenir_facade().peut("gerer_fiche_annuaire"):  # annuaire des membres (issue 16, partie 4)
        st.page_link("pages/annuaire.py", label="Ma fiche dans l'annuaire des membres", icon=":material/badge:",
                     query_params={"section": "ma-fiche"},
                     help="Figurer ou non dans l'annuaire, avec les coordonnées que vous choisissez ; retrait à tout "
                          "moment.")
    afficher_a_corriger()
    afficher_a_valider()
    gauche, droite = st.columns(2)
    if gauche.button("Se déconnecter", icon=":material/logout:", width="stretch"):
        commun.deconnecter()
        st.rerun()
    if droite.button("Se déconnecter de tous les appareils", icon=":material/devices:", width="stretch",
                     help="Ferme aussi les sessions ouvertes sur d'autres navigateurs ou postes."):
        commun.deconnecter(tous_appareils=True)
        st.rerun()
    afficher_mes_sessions()
    st.caption("La session reste ouverte si vous rechargez la page ou ouvrez un nouvel onglet ; elle se ferme "
               "après une période d'inactivité, au plus tard après une journée, ou quand vous vous déconnectez.")
    st.stop()

st.markdown("Sans compte, le tableau de bord montre les opérations **validées**, sans coûts ni données "
            "personnelles. Les agents des communes, le syndicat et les financeurs se connectent pour voir et "
            "saisir davantage, selon leur rôle.")
with st.form("connexion", clear_on_submit=False):
    email = st.text_input("Adresse électronique", autocomplete="username")
    mot_de_passe = st.text_input("Mot de passe", type="password", autocomplete="current-password")
    envoye = st.form_submit_button("Se connecter", type="primary")
if envoye:
    try:
        commun.connecter(authentifier(commun.obtenir_magasin(), email, mot_de_passe))
    except ErreurAuthentification as erreur:
        st.error(str(erreur))
    else:
        st.rerun()
if commun.oidc_configure():
    st.button("Se connecter avec ProConnect", icon=":material/badge:", on_click=st.login)
st.caption("Compte oublié ou bloqué : adressez-vous à l'administrateur du syndicat de bassin.")
