"""Page « Notifications » : les notifications du membre connecté (réponses dans les fils suivis, questions sur les
opérations de ses communes, opérations validées ou renvoyées à corriger…), des plus récentes aux plus anciennes ;
marquer lu, tout marquer lu, lien vers l'objet. Chacun ne lit que les siennes (droits vérifiés par la façade)."""

from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from donnees.format import formater_horodatage
from donnees.magasin.notifications import lire_genres_notification, lire_parametres_echanges
from pages import commun
from vues.format import echapper_markdown

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee("Notifications", facade.peut("lire_notifications"),
                            "Les notifications sont réservées aux membres connectés", "notifications_message")
st.page_link("pages/connexion.py", label="Résumé par courriel : page Connexion", icon=":material/mail:",
             help="Jamais, chaque jour ou chaque semaine : un courriel regroupe les notifications non lues.")
limite = lire_parametres_echanges()["nombre_max_notifications_affichees"]
notifications = facade.lire_notifications(limite)
if notifications.empty:
    st.info("Aucune notification pour l'instant. Vous en recevrez quand quelqu'un répond dans un fil que vous "
            "suivez ou pose une question sur une opération de vos communes, quand le syndicat valide ou renvoie "
            "à corriger une de vos opérations, quand une ressource paraît dans un thème que vous suivez (page "
            "Ressources) et quand un événement est annoncé à l'agenda ou approche.",
            icon=":material/notifications_none:")
    st.stop()

non_lues = notifications["lue_le"].isna()
st.caption(f"{int(non_lues.sum())} non lue(s) sur {len(notifications)} (les {limite} plus récentes au plus).")
colonnes = st.columns([1, 1, 3])
if colonnes[0].button("Tout marquer lu", key="notifications_tout_lu", icon=":material/done_all:",
                      disabled=not non_lues.any()):
    commun.executer_ecriture(facade.marquer_notifications_lues,
                             lambda nombre: f"{nombre} notification(s) marquée(s) lue(s).", "notifications_message")
seulement_non_lues = colonnes[1].toggle("Non lues seulement", key="notifications_non_lues")
if seulement_non_lues:
    notifications = notifications[non_lues.to_numpy(bool)]

genres = lire_genres_notification()
pages_connues = {chemin for chemin, *_ in commun.PAGES}


def page_du_lien(lien) -> tuple[str, dict] | None:
    """Page de l'application (fichier) et paramètres d'un lien interne « /fiche?id=12 » ; None sinon."""
    if not isinstance(lien, str) or not lien.startswith("/") or lien.startswith("//"):
        return None
    adresse = urlsplit(lien)
    chemin = f"pages/{adresse.path.strip('/')}.py"
    return (chemin, dict(parse_qsl(adresse.query))) if chemin in pages_connues else None


for ligne in notifications.itertuples(index=False):
    lue = ligne.lue_le is not None and ligne.lue_le == ligne.lue_le
    with st.container(border=True):
        gauche, droite = st.columns([5, 1])
        gauche.caption(" · ".join(filter(None, [echapper_markdown(genres.get(ligne.genre, ligne.genre)),
                                                formater_horodatage(ligne.cree_le),
                                                None if lue else "**non lue**"])))
        gauche.text(ligne.texte)
        cible = page_du_lien(ligne.lien)
        # « Ouvrir » marque la notification lue puis ouvre sa page (le compteur de la navigation baisse).
        if cible is not None and gauche.button("Ouvrir", key=f"notification_ouvrir_{ligne.id}",
                                               icon=":material/open_in_new:"):
            if not lue:
                facade.marquer_notifications_lues([int(ligne.id)])
            st.switch_page(cible[0], query_params=cible[1])
        if not lue and droite.button("Marquer lu", key=f"notification_lue_{ligne.id}", icon=":material/done:"):
            commun.executer_ecriture(lambda ident=int(ligne.id): facade.marquer_notifications_lues([ident]),
                                     "Notification marquée lue.", "notifications_message")
