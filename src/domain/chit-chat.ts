/**
 * Chit-chat: a message that keeps a conversation going but says nothing
 * about anyone's life ("Thanks, Priya! Your kind words mean so much to me.",
 * "Wow, that sounds amazing! Keep it up!"). What tells it apart from a
 * statement is not its length or its pronouns but that once the words every
 * such message is made of are set aside (function words, pronouns, the
 * words of thanks, praise, greeting and encouragement, and the name of the
 * person addressed), nothing is left: no thing, place, activity, number or
 * name it is about. "Thanks! I started a pottery class" leaves "started",
 * "pottery", "class". Pure and deterministic.
 *
 * In a store of conversations such messages are the distractors that match
 * a question by name alone ("What did Priya do…" matches every "Thanks,
 * Priya!"), and they answer nothing.
 */

const functionWords =
  "a an the and or but nor so yet to of in on at for with from by about as into onto over than then too very " +
  "really just quite pretty such is are was were be been being am do does did doing done have has had having " +
  "will would can could should shall may might must it its this that these those there here what which who " +
  "whom whose how when where why if all some any every each more most much many lot lots little bit not no " +
  "yes yeah yep yup nope oh ah aw aww wow hey hi hello hiya ok okay sure well even still again always ever " +
  "never also both either only own same other another something anything everything nothing one ones way " +
  "i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself she " +
  "her hers herself they them their theirs themselves y'all ya let gonna wanna gotta get got go going gone " +
  "make made makes making keep keeps kept know knew see saw seen say said tell told hear heard think thought";

/** Thanks, praise, agreement, greeting, encouragement and feeling words: what a reply is made of. */
const reactionWords =
  "thanks thank thx appreciate appreciated appreciating grateful glad happy great good awesome amazing " +
  "cool nice lovely sweet wonderful fantastic incredible beautiful cute fun exciting excited proud " +
  "congrats congratulations luck best better love loved loving lol haha yay woohoo hooray definitely " +
  "absolutely totally agreed agree true right exactly indeed sounds sound seems seem looks look " +
  "feel feels feeling means mean meant care safe bye goodbye later soon cheers miss missed welcome " +
  "inspiring inspired inspiration motivating motivated motivation support supportive encouragement " +
  "encouraging kind kindness words word hope hoping wish wishes rock rocks dear friend buddy pal " +
  "talk talking chat chatting catch touch moments moment time times day days stuff thing things";

const ignored = new Set(`${functionWords} ${reactionWords}`.split(" "));

/** A capitalised word set off as the person addressed: "Thanks, Maria!", "Hey Mel,", "…, John." */
const addressed =
  /(?:^|[,!.?]\s*|\b(?:[Hh]ey|[Hh]i|[Hh]ello|[Tt]hanks|[Tt]hank you|[Bb]ye|[Yy]o|[Dd]ear)\s+)\p{Lu}[\p{L}'-]*(?=\s*[,!.?]|\s*$)/gu;

/** Whether `content` is chit-chat: nothing left once the words of replies and the addressee are set aside. */
export function isChitChat(content: string): boolean {
  const text = content.replace(/[’‘]/g, "'");
  if (/\d/.test(text)) return false;
  const words =
    text
      .replace(addressed, " ")
      .toLowerCase()
      .match(/\p{L}[\p{L}'-]*/gu) ?? [];
  return words.every((w) => {
    const stem = w.replace(/n't$|'(?:s|re|ve|ll|d|m)$/, "");
    return stem.length < 3 || ignored.has(w) || ignored.has(stem);
  });
}
